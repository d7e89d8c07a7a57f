package io.github.magmajava.image;

import java.util.Arrays;
import java.util.Objects;

/**
 * The CLIP image encoder's input: a square image of {@code size} x {@code size} pixels as floats,
 * channel-major (CHW, shape [3][size][size], channels R, G, B), each value
 * {@code (v / 255 - mean[c]) / std[c]} in float32 with CLIP's mean (0.48145466, 0.4578275,
 * 0.40821073) and std (0.26862954, 0.26130258, 0.27577711), exactly as torchvision's ToTensor and
 * Normalize compute it. The element at channel c, row y, column x is at
 * {@code (c * size + y) * size + x}.
 *
 * <p>Immutable: the constructor copies the array and {@link #pixels()} returns a copy; use
 * {@link #copyTo(float[], int)} or {@link #at(int, int, int)} to read without allocating.
 */
public record PreprocessedImage(int size, float[] pixels) {
    public PreprocessedImage {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive, got " + size);
        }
        Objects.requireNonNull(pixels, "pixels");
        if (pixels.length != 3L * size * size) {
            throw new IllegalArgumentException("a " + size + "x" + size + " image needs 3 x " + size + " x " + size
                    + " = " + 3L * size * size + " floats, got " + pixels.length);
        }
        pixels = pixels.clone();
    }

    /** A copy of the CHW floats. */
    @Override
    public float[] pixels() {
        return pixels.clone();
    }

    /** The value at channel c (0 red, 1 green, 2 blue), row y, column x. */
    public float at(int channel, int y, int x) {
        Objects.checkIndex(channel, 3);
        Objects.checkIndex(y, size);
        Objects.checkIndex(x, size);
        return pixels[(channel * size + y) * size + x];
    }

    /** Copies the 3 x size x size CHW floats into {@code destination} from {@code offset} on. */
    public void copyTo(float[] destination, int offset) {
        System.arraycopy(pixels, 0, destination, offset, pixels.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PreprocessedImage other && size == other.size && Arrays.equals(pixels, other.pixels);
    }

    @Override
    public int hashCode() {
        return 31 * size + Arrays.hashCode(pixels);
    }

    @Override
    public String toString() {
        return "PreprocessedImage[size=" + size + ", 3x" + size + "x" + size + " floats]";
    }
}
