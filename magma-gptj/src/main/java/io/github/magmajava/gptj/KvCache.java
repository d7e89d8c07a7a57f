package io.github.magmajava.gptj;

/**
 * The keys and values of every position a generation has run, preallocated for all of its
 * positions so a decode step allocates nothing for them, and split by heads the way the backend's
 * devices run them. Per layer and device, keys and values are each a row-major
 * {@code float[capacity * width]} with {@code width = hiddenSize / devices}: row p holds position
 * p, the device's heads side by side ({@code [positions, heads * headDim]}, the layout
 * {@code Backend.attention} reads); keys are stored after RoPE.
 *
 * <p>Not thread-safe: one cache belongs to one generation. Made by {@link GptjModel#newCache}.
 */
public final class KvCache {
    private final float[][][] keys;
    private final float[][][] values;
    private final int capacity;
    private final int width;
    private int length;

    KvCache(int layers, int devices, int capacity, int width) {
        int floats;
        try {
            floats = Math.multiplyExact(capacity, width);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("KV cache of " + capacity + " positions x " + width
                    + " floats does not fit a Java array", e);
        }
        this.keys = new float[layers][devices][floats];
        this.values = new float[layers][devices][floats];
        this.capacity = capacity;
        this.width = width;
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

    float[] keys(int layer, int device) {
        return keys[layer][device];
    }

    float[] values(int layer, int device) {
        return values[layer][device];
    }

    /** Fails before any work when {@code rows} more positions do not fit. */
    void checkRoom(int rows) {
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
        System.arraycopy(k, 0, keys[layer][device], length * width, rows * width);
        System.arraycopy(v, 0, values[layer][device], length * width, rows * width);
    }

    /** Marks {@code rows} stored positions as filled, once every layer has stored them. */
    void advance(int rows) {
        checkRoom(rows);
        length += rows;
    }
}
