package io.github.magmajava.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * nd4j 1.0.0-M2.1's oneDNN builds of libnd4jcpu, and which one a machine loads. They differ only
 * in the instruction set nd4j's own C++ code was compiled for; the oneDNN inside each picks its
 * kernels (AVX2, AVX-512, AVX-512 BF16 ...) from the running CPU, so a build that fits the CPU
 * runs the same GEMMs and convolutions as the best one (docs/nd4j.md measures this). Loading a
 * build compiled for instructions the CPU lacks kills the JVM with an illegal instruction, so the
 * choice is made from the CPU's flags before anything is loaded.
 *
 * <p>A build is a javacpp platform extension: the jar {@code nd4j-native-1.0.0-M2.1-<platform>-<name>.jar}
 * holds {@code org/nd4j/linalg/cpu/nativecpu/bindings/<platform>-<name>/}, and javacpp loads it when
 * {@code org.bytedeco.javacpp.platform.extension} is {@code -<name>}.
 */
enum Nd4jBuild {
    /** {@code -march=skylake-avx512}: Skylake-X and later Xeons, Ice/Tiger Lake, Zen 4 and later. */
    ONEDNN_AVX512("onednn-avx512", Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma", "f16c")),
    /** {@code -mavx2 -mfma -mf16c}: Haswell (2013) and later, Zen 1 and later. */
    ONEDNN_AVX2("onednn-avx2", Set.of("avx", "avx2", "fma", "f16c")),
    /** Plain x86-64 (SSE2): any 64-bit x86 CPU. */
    ONEDNN("onednn", Set.of());

    /** The system property that forces a build ({@code auto}, the default, or a build's name). */
    static final String PROPERTY = "magma.onednn.build";
    /** javacpp's own switch; when the user set it, it counts as a request for that build. */
    static final String JAVACPP_EXTENSION = "org.bytedeco.javacpp.platform.extension";

    private final String id;
    private final Set<String> requiredFlags;

    Nd4jBuild(String id, Set<String> requiredFlags) {
        this.id = id;
        this.requiredFlags = requiredFlags;
    }

    /** The classifier suffix and property value, e.g. {@code onednn-avx2}. */
    String id() {
        return id;
    }

    /** The javacpp platform extension, e.g. {@code -onednn-avx2}. */
    String extension() {
        return "-" + id;
    }

    /** The Maven classifier of this build for {@code platform}, e.g. {@code linux-x86_64-onednn-avx2}. */
    String classifier(String platform) {
        return platform + extension();
    }

    /** The CPU flags (Linux /proc/cpuinfo names) this build needs that {@code cpuFlags} lacks. */
    Set<String> missingFlags(Set<String> cpuFlags) {
        Set<String> missing = new TreeSet<>(requiredFlags);
        missing.removeAll(cpuFlags);
        return missing;
    }

    /**
     * javacpp's platform name for a JVM's {@code os.name} and {@code os.arch}: {@code linux-x86_64},
     * {@code macosx-arm64}, {@code windows-x86_64} ...
     */
    static String platform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String system = os.startsWith("linux") ? "linux" : os.startsWith("mac") || os.startsWith("darwin") ? "macosx"
                : os.startsWith("windows") ? "windows" : os.replaceAll("\\W", "");
        String arch = switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "arm64";
            default -> osArch.toLowerCase(Locale.ROOT);
        };
        return system + "-" + arch;
    }

    /**
     * The oneDNN builds nd4j 1.0.0-M2.1 publishes for {@code platform}, best first (checked on Maven
     * Central): all three for linux-x86_64 and windows-x86_64, no AVX-512 one for macosx-x86_64,
     * none for ARM (linux-arm64 and macosx-arm64 have only the plain build, without oneDNN).
     */
    static List<Nd4jBuild> published(String platform) {
        return switch (platform) {
            case "linux-x86_64", "windows-x86_64" -> List.of(ONEDNN_AVX512, ONEDNN_AVX2, ONEDNN);
            case "macosx-x86_64" -> List.of(ONEDNN_AVX2, ONEDNN);
            default -> List.of();
        };
    }

    /** The build named {@code id} ({@code onednn-avx2}, case-insensitive, a leading '-' allowed). */
    static Optional<Nd4jBuild> named(String id) {
        String name = id.strip().toLowerCase(Locale.ROOT);
        String bare = name.startsWith("-") ? name.substring(1) : name;
        for (Nd4jBuild b : values()) {
            if (b.id.equals(bare)) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /** What to load, or why nothing. */
    sealed interface Choice {
    }

    /** Load {@code build}, the jar with classifier {@code build.classifier(platform)}. */
    record Load(String platform, Nd4jBuild build) implements Choice {
        String classifier() {
            return build.classifier(platform);
        }
    }

    /** Load nothing: the pure-Java kernels run. */
    record Refuse(String reason) implements Choice {
    }

    /**
     * The build a machine loads: the best of {@link #published} whose flags the CPU has and whose
     * jar is {@code present} (a predicate on the classifier); or, when {@code requested} names a
     * build ({@code null}, blank or {@code auto}: choose), that build, provided the CPU can run it
     * and its jar is present. Never a build the CPU lacks instructions for, whatever is requested.
     *
     * @param platform javacpp's platform name ({@link #platform})
     * @param cpuFlags the CPU's feature flags as /proc/cpuinfo names them ({@code avx2}, {@code avx512bw} ...)
     * @param requested a build name, or null/blank/{@code auto}
     * @param requestedBy where {@code requested} came from, for the messages (a property name)
     * @param present whether the jar of a classifier is on the class path
     */
    static Choice choose(String platform, Set<String> cpuFlags, String requested, String requestedBy, Predicate<String> present) {
        List<Nd4jBuild> builds = published(platform);
        if (builds.isEmpty()) {
            return new Refuse("nd4j 1.0.0-M2.1 has no oneDNN build for " + platform);
        }
        boolean auto = requested == null || requested.isBlank() || requested.strip().equalsIgnoreCase("auto");
        if (!auto) {
            Optional<Nd4jBuild> wanted = named(requested);
            if (wanted.isEmpty() || !builds.contains(wanted.get())) {
                return new Refuse(requestedBy + "=" + requested.strip() + " names no oneDNN build for " + platform + "; expected auto or one of "
                        + builds.stream().map(Nd4jBuild::id).toList());
            }
            Nd4jBuild b = wanted.get();
            Set<String> missing = b.missingFlags(cpuFlags);
            if (!missing.isEmpty()) {
                return new Refuse(requestedBy + "=" + b.id + " needs CPU flags this CPU lacks: " + String.join(", ", missing));
            }
            return present.test(b.classifier(platform)) ? new Load(platform, b)
                    : new Refuse(requestedBy + "=" + b.id + " but " + coordinates(b.classifier(platform)) + " is not on the class path");
        }
        List<Nd4jBuild> runnable = new ArrayList<>();
        for (Nd4jBuild b : builds) {
            if (b.missingFlags(cpuFlags).isEmpty()) {
                runnable.add(b);
                if (present.test(b.classifier(platform))) {
                    return new Load(platform, b);
                }
            }
        }
        return new Refuse("no nd4j oneDNN jar this CPU can run is on the class path; add "
                + coordinates(runnable.getFirst().classifier(platform)) + " (docs/nd4j.md)");
    }

    /** The Maven coordinates of an nd4j-native jar. */
    static String coordinates(String classifier) {
        return "org.nd4j:nd4j-native:1.0.0-M2.1:" + classifier;
    }
}
