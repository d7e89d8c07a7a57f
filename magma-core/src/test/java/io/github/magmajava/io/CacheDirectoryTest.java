package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
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

    @Test
    void thePropertyThenMagmaCacheDirThenXdgThenHome() {
        Map<String, String> props = new HashMap<>(Map.of("user.home", "/home/u"));
        Map<String, String> env = new HashMap<>();
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/home/u/.cache/magma-java"));
        env.put("XDG_CACHE_HOME", " ");
        assertThat(CacheDirectory.resolve(props::get, env::get)).as("blank is unset").isEqualTo(Path.of("/home/u/.cache/magma-java"));
        env.put("XDG_CACHE_HOME", "/xdg");
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/xdg/magma-java"));
        env.put("MAGMA_CACHE_DIR", "");
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/xdg/magma-java"));
        env.put("MAGMA_CACHE_DIR", "/magma");
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/magma"));
        props.put(CacheDirectory.PROPERTY, "\t");
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/magma"));
        props.put(CacheDirectory.PROPERTY, "/prop");
        assertThat(CacheDirectory.resolve(props::get, env::get)).isEqualTo(Path.of("/prop"));
    }
}
