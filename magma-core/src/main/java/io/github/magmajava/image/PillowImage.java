package io.github.magmajava.image;

import java.util.Objects;

/**
 * A decoded image as Pillow holds it after {@code Image.open(...).load()}: its mode, and the
 * samples row-major and interleaved ({@code mode.bands()} per pixel), in {@code bytes} for the
 * 8-bit modes or in {@code ints} for mode "I". Palette images carry 256 RGB entries.
 * The arrays are owned by this object and never modified after construction.
 */
final class PillowImage {
    private final PillowMode mode;
    private final int width;
    private final int height;
    private final byte[] bytes;
    private final int[] ints;
    private final byte[] palette;

    private PillowImage(PillowMode mode, int width, int height, byte[] bytes, int[] ints, byte[] palette) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height);
        }
        long samples = (long) width * height * mode.bands();
        long length = bytes != null ? bytes.length : ints.length;
        if (length != samples) {
            throw new IllegalArgumentException(mode.pillowName() + " " + width + "x" + height + " needs "
                    + samples + " samples, got " + length);
        }
        if ((mode == PillowMode.P) != (palette != null) || palette != null && palette.length != 3 * 256) {
            throw new IllegalArgumentException("mode P needs a 256-entry RGB palette, other modes none");
        }
        this.mode = mode;
        this.width = width;
        this.height = height;
        this.bytes = bytes;
        this.ints = ints;
        this.palette = palette;
    }

    /** An 8-bit image in any mode but "I" and "P". */
    static PillowImage of8bit(PillowMode mode, int width, int height, byte[] samples) {
        if (mode == PillowMode.I || mode == PillowMode.P) {
            throw new IllegalArgumentException("mode " + mode.pillowName() + " is not a plain 8-bit mode");
        }
        return new PillowImage(mode, width, height, Objects.requireNonNull(samples), null, null);
    }

    /** A palette image: one index per pixel and 256 RGB entries. */
    static PillowImage ofPalette(int width, int height, byte[] indices, byte[] palette) {
        return new PillowImage(PillowMode.P, width, height, Objects.requireNonNull(indices), null,
                Objects.requireNonNull(palette));
    }

    /** A mode "I" image (32-bit integer samples). */
    static PillowImage ofInt(int width, int height, int[] samples) {
        return new PillowImage(PillowMode.I, width, height, null, Objects.requireNonNull(samples), null);
    }

    PillowMode mode() {
        return mode;
    }

    int width() {
        return width;
    }

    int height() {
        return height;
    }

    /** The 8-bit samples (not a copy; callers must not modify them); null in mode "I". */
    byte[] bytes() {
        return bytes;
    }

    /** The integer samples of mode "I" (not a copy); null in other modes. */
    int[] ints() {
        return ints;
    }

    /** The RGB palette of mode "P", 768 bytes (not a copy); null in other modes. */
    byte[] palette() {
        return palette;
    }
}
