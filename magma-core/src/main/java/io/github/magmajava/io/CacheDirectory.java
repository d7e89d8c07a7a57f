package io.github.magmajava.io;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

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
        return resolve(System::getProperty, System::getenv);
    }

    /** The same rule over the given system properties and environment (tests give their own). */
    static Path resolve(UnaryOperator<String> properties, UnaryOperator<String> environment) {
        String property = properties.apply(PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String explicit = environment.apply("MAGMA_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = environment.apply("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "magma-java");
        }
        return Path.of(properties.apply("user.home"), ".cache", "magma-java");
    }
}
