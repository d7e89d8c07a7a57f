package io.github.magmajava.backend.cpu;

/**
 * What the CPU backend needs from the JVM's command line, checked before any class that uses it is
 * loaded: without {@code --add-modules jdk.incubator.vector} the first kernel would die with a
 * {@code NoClassDefFoundError} deep in a model load.
 */
public final class JvmRequirements {
    /** The flags a plain {@code java -cp ...} run needs, as the README's "Using the library" lists them. */
    public static final String FLAGS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED";

    private JvmRequirements() {
    }

    /** True when the incubating Vector API is in this JVM's boot layer. */
    public static boolean hasVectorApi() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** @throws IllegalStateException naming the flags, when the Vector API module was not added */
    public static void requireVectorApi() {
        if (!hasVectorApi()) {
            throw new IllegalStateException("magma's CPU kernels need the JDK's Vector API, which java leaves out unless told:"
                    + " start java with " + FLAGS + " (README, \"Using the library\")");
        }
    }
}
