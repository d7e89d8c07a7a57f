package io.github.magmajava.gptj;

import io.github.magmajava.backend.KeyValues;

/**
 * The keys and values of every position a generation has run, preallocated for all of its
 * positions so a decode step allocates nothing for them, and split by heads the way the backend's
 * devices run them. Per layer and device, keys and values are each a row-major
 * {@code float[capacity * width]} with {@code width = hiddenSize / devices}: row p holds position
 * p, the device's heads side by side ({@code [positions, heads * headDim]}, the layout
 * {@code Backend.attention} reads); keys are stored after RoPE.
 *
 * <p>A cache can be kept ({@link #freeze}) and then {@linkplain #extend extended} by any number of
 * caches that read its positions in place and add their own after them: an image's positions
 * computed once, every question about it in its own extension (copy on write, nothing copied).
 *
 * <p>Not thread-safe while it grows: one cache belongs to one generation. A frozen cache never
 * changes, so concurrent extensions may read it. Made by {@link GptjModel#newCache}.
 */
public final class KvCache {
    /** The kept positions before this cache's own, or null. */
    private final KvCache prefix;
    private final int shared;
    private final float[][][] keys;
    private final float[][][] values;
    private final int capacity;
    private final int width;
    private int length;
    private boolean frozen;

    KvCache(int layers, int devices, int capacity, int width) {
        this(null, layers, devices, capacity, width);
    }

    private KvCache(KvCache prefix, int layers, int devices, int capacity, int width) {
        this.prefix = prefix;
        this.shared = prefix == null ? 0 : prefix.length;
        int floats;
        try {
            floats = Math.multiplyExact(capacity - shared, width);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("KV cache of " + capacity + " positions x " + width
                    + " floats does not fit a Java array", e);
        }
        this.keys = new float[layers][devices][floats];
        this.values = new float[layers][devices][floats];
        this.capacity = capacity;
        this.width = width;
        this.length = shared;
    }

    /** Keeps this cache as it is: it can no longer grow, only be {@linkplain #extend extended}. */
    public KvCache freeze() {
        frozen = true;
        return this;
    }

    /**
     * A new cache of {@code capacity} positions in all, the first {@link #length()} of them this
     * frozen cache's, read in place.
     *
     * @throws IllegalStateException    when this cache is not frozen, or itself extends another
     * @throws IllegalArgumentException when {@code capacity} does not exceed this cache's positions
     */
    public KvCache extend(int capacity) {
        if (!frozen || prefix != null) {
            throw new IllegalStateException(!frozen ? "only a frozen cache can be extended" : "a cache that extends another"
                    + " cannot be extended itself");
        }
        if (capacity <= length) {
            throw new IllegalArgumentException("an extension of a cache of " + length + " positions needs a capacity above it, found "
                    + capacity);
        }
        return new KvCache(this, keys.length, devices(), capacity, width);
    }

    /** Positions filled so far; the next forward call starts at this position. */
    public int length() {
        return length;
    }

    /** Positions this cache can hold. */
    public int capacity() {
        return capacity;
    }

    int layers() {
        return keys.length;
    }

    int devices() {
        return keys.length == 0 ? 0 : keys[0].length;
    }

    /** Floats per position of one device: its heads times the head size. */
    int width() {
        return width;
    }

    /** What attention reads of one layer and device: the kept prefix's positions, then this cache's. */
    KeyValues keyValues(int layer, int device) {
        return prefix == null ? KeyValues.of(keys[layer][device], values[layer][device])
                : new KeyValues(prefix.keys[layer][device], prefix.values[layer][device], shared, keys[layer][device],
                        values[layer][device]);
    }

    /** Fails before any work when {@code rows} more positions do not fit. */
    void checkRoom(int rows) {
        if (frozen) {
            throw new IllegalStateException("this KV cache is kept (frozen): extend it instead");
        }
        if (rows > capacity - length) {
            throw new IllegalStateException("KV cache full: it holds " + length + " of " + capacity
                    + " positions and cannot take " + rows + " more (make the cache with the capacity the generation needs)");
        }
    }

    /**
     * Writes one device's k and v [rows, width] of one layer at positions {@code length() ..};
     * {@link #advance} makes them count.
     */
    void store(int layer, int device, float[] k, float[] v, int rows) {
        checkRoom(rows);
        System.arraycopy(k, 0, keys[layer][device], (length - shared) * width, rows * width);
        System.arraycopy(v, 0, values[layer][device], (length - shared) * width, rows * width);
    }

    /** Marks {@code rows} stored positions as filled, once every layer has stored them. */
    void advance(int rows) {
        checkRoom(rows);
        length += rows;
    }
}
