package io.github.magmajava.clip;

import java.util.Objects;

/**
 * An activation of one image, [channels, height, width] row-major (CHW). A view on its buffer,
 * not a copy: the model writes the buffers it hands out and never touches the caller's.
 */
public record FeatureMap(float[] data, int channels, int height, int width) {
    public FeatureMap {
        Objects.requireNonNull(data, "data");
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("feature map dimensions must be positive, found [" + channels + ", " + height + ", "
                    + width + "]");
        }
        if (data.length != (long) channels * height * width) {
            throw new IllegalArgumentException("feature map [" + channels + ", " + height + ", " + width + "] needs "
                    + (long) channels * height * width + " floats, found " + data.length);
        }
    }

    /** A preprocessed RGB image [3, size, size], with an error naming the expected length otherwise. */
    public static FeatureMap image(float[] chw, int size) {
        long expected = 3L * size * size;
        if (chw.length != expected) {
            throw new IllegalArgumentException("image must be the preprocessed [3, " + size + ", " + size + "] CHW array of "
                    + expected + " floats, found " + chw.length + " floats");
        }
        return new FeatureMap(chw, 3, size, size);
    }

    public int size() {
        return data.length;
    }
}
