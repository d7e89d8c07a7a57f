package io.github.magmajava.spark;

import java.nio.charset.StandardCharsets;

/**
 * A row's sampling seed: the transformer's seed mixed with a stable key of the row (its path, or
 * its image bytes when it has no key), so a row gets the same answer in every run and every retry
 * of its task, wherever its partition runs and whatever else is in it.
 */
public final class RowSeed {
    private RowSeed() {
    }

    /** The seed of the row whose key is {@code key} (its UTF-8 bytes). */
    public static long of(long seed, String key) {
        return of(seed, key.getBytes(StandardCharsets.UTF_8));
    }

    /** FNV-1a over the key, then SplitMix64's finalizer over it and the seed: well spread, fixed forever. */
    public static long of(long seed, byte[] key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return mix(mix(seed) ^ h);
    }

    private static long mix(long z) {
        z += 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
