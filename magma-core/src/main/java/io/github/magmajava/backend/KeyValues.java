package io.github.magmajava.backend;

import java.util.Objects;

/**
 * The cached keys and values one attention call reads, row-major [positions, heads * headDim]:
 * positions {@code 0 .. shared - 1} from a kept, immutable prefix (an image's positions shared by
 * every question about it), the later ones from the call's own arrays, where position p sits at
 * row {@code p - shared}.
 *
 * @param sharedKeys   the prefix's keys, or null when {@code shared} is 0
 * @param sharedValues the prefix's values, or null when {@code shared} is 0
 */
public record KeyValues(float[] sharedKeys, float[] sharedValues, int shared, float[] keys, float[] values) {
    public KeyValues {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (shared < 0 || shared > 0 && (sharedKeys == null || sharedValues == null)) {
            throw new IllegalArgumentException("a shared prefix of " + shared + " positions needs its keys and values");
        }
    }

    /** Every position in one pair of arrays. */
    public static KeyValues of(float[] keys, float[] values) {
        return new KeyValues(null, null, 0, keys, values);
    }

    /** The keys holding position {@code p}. */
    public float[] keysAt(int p) {
        return p < shared ? sharedKeys : keys;
    }

    public float[] valuesAt(int p) {
        return p < shared ? sharedValues : values;
    }

    /** Position {@code p}'s row in {@link #keysAt}/{@link #valuesAt}. */
    public int rowOf(int p) {
        return p < shared ? p : p - shared;
    }
}
