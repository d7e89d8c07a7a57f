package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CacheDirectoryTest {
    @Test
    void theSystemPropertyWinsOverTheEnvironment() {
        String before = System.getProperty(CacheDirectory.PROPERTY);
        try {
            System.setProperty(CacheDirectory.PROPERTY, "/tmp/magma-cache-test");
            assertThat(CacheDirectory.resolve()).isEqualTo(Path.of("/tmp/magma-cache-test"));
            System.setProperty(CacheDirectory.PROPERTY, " ");
            assertThat(CacheDirectory.resolve()).isNotEqualTo(Path.of(" "));
        } finally {
            if (before == null) {
                System.clearProperty(CacheDirectory.PROPERTY);
            } else {
                System.setProperty(CacheDirectory.PROPERTY, before);
            }
        }
    }
}
