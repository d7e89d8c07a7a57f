package io.github.magmajava.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the committed reference data lives (see tools/fixtures); every module's tests use it. */
public final class Fixtures {
    private Fixtures() {
    }

    /** {@code fixtures/<relative>} under magma-core's test resources; fails clearly when absent. */
    public static Path path(String relative) {
        String root = System.getProperty("magma.fixtures");
        Path base = root != null ? Path.of(root) : Path.of("magma-core/src/test/resources/fixtures");
        Path p = base.resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException("missing fixture " + p + " (regenerate with the scripts in tools/fixtures)");
        }
        return p;
    }
}
