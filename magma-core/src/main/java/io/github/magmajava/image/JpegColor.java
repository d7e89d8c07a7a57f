package io.github.magmajava.image;

/**
 * libjpeg's colour conversion (jdcolor.c, identical in libjpeg 6b and libjpeg-turbo), applied to
 * the unconverted samples ImageIO's readRaster returns, plus the inversion of Pillow's "CMYK;I"
 * raw mode (Pillow reads every 4-component JPEG as Adobe-inverted CMYK).
 */
final class JpegColor {
    private static final int SCALE_BITS = 16;
    private static final int ONE_HALF = 1 << (SCALE_BITS - 1);
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALE_BITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALE_BITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private JpegColor() {
    }

    private static int fix(double x) {
        return (int) (x * (1 << SCALE_BITS) + 0.5);
    }

    private static int clamp8(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** YCbCr to RGB in place on the first three of every {@code bands} samples. */
    static byte[] yccToRgb(byte[] samples, int bands) {
        for (int p = 0; p < samples.length; p += bands) {
            int y = samples[p] & 0xFF;
            int cb = samples[p + 1] & 0xFF;
            int cr = samples[p + 2] & 0xFF;
            samples[p] = (byte) clamp8(y + CR_R[cr]);
            samples[p + 1] = (byte) clamp8(y + ((CB_G[cb] + CR_G[cr]) >> SCALE_BITS));
            samples[p + 2] = (byte) clamp8(y + CB_B[cb]);
        }
        return samples;
    }

    /** YCCK to the CMYK Pillow holds: libjpeg's ycck_cmyk_convert, then Pillow's inversion. */
    static byte[] ycckToPillowCmyk(byte[] samples) {
        // libjpeg yields 255 - RGB(YCC) and K unchanged; inverting all four leaves RGB(YCC) and 255 - K.
        yccToRgb(samples, 4);
        for (int p = 3; p < samples.length; p += 4) {
            samples[p] = (byte) (255 - (samples[p] & 0xFF));
        }
        return samples;
    }

    /** Every sample v to 255 - v, in place (Pillow's "CMYK;I" raw mode). */
    static byte[] invert(byte[] samples) {
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (byte) (255 - (samples[i] & 0xFF));
        }
        return samples;
    }
}
