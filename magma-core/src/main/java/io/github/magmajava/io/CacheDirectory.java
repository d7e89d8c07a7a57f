package io.github.magmajava.io;

import java.nio.file.Path;

/**
 * Where derived files (synthetic benchmark checkpoints, converted weights, downloaded checkpoints)
 * are kept between runs: the system property {@code magma.cache.dir} (for tests and embedding
 * applications, which cannot set a variable of their own process), else {@code $MAGMA_CACHE_DIR},
 * else {@code $XDG_CACHE_HOME/magma-java}, else {@code ~/.cache/magma-java}.
 */
public final class CacheDirectory {
    /** The system property that overrides every other setting. */
    public static final String PROPERTY = "magma.cache.dir";

    private CacheDirectory() {
    }

    public static Path resolve() {
        String property = System.getProperty(PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String explicit = System.getenv("MAGMA_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "magma-java");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "magma-java");
    }
}
