package io.github.magmajava.image;

import java.util.Arrays;
import java.util.Objects;

/**
 * An 8-bit RGB image, row-major with interleaved channels (HWC): the image after resize, center
 * crop and {@code convert("RGB")}, just before MAGMA's pipeline turns it into a tensor. Immutable.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    private RgbImage(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height);
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs "
                    + (long) width * height * 3 + " bytes, got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** An image from interleaved RGB bytes (row-major, 3 per pixel); the array is copied. */
    public static RgbImage of(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, Objects.requireNonNull(rgb, "rgb").clone());
    }

    /** Takes ownership of the array, for the pipeline's own freshly made buffers. */
    static RgbImage wrap(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, rgb);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The sample 0..255 of channel 0 (red), 1 (green) or 2 (blue) at column x, row y. */
    public int sample(int x, int y, int channel) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(channel, 3);
        return rgb[(y * width + x) * 3 + channel] & 0xFF;
    }

    /** A copy of the interleaved RGB bytes, row-major (HWC). */
    public byte[] toByteArray() {
        return rgb.clone();
    }

    /** The internal bytes, not copied: only for this package, which never modifies them. */
    byte[] bytes() {
        return rgb;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && width == other.width && height == other.height
                && Arrays.equals(rgb, other.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
