package io.github.magmajava.io;

import java.nio.file.Path;

/**
 * Where derived files (synthetic benchmark checkpoints, converted weights) are kept between runs:
 * {@code $MAGMA_CACHE_DIR}, else {@code $XDG_CACHE_HOME/magma-java}, else {@code ~/.cache/magma-java}.
 */
public final class CacheDirectory {
    private CacheDirectory() {
    }

    public static Path resolve() {
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
