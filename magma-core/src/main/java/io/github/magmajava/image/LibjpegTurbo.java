package io.github.magmajava.image;

/**
 * What Pillow's libjpeg-turbo does after the IDCT, applied to the unconverted samples ImageIO's
 * readRaster returns (the JDK decodes with IJG libjpeg 6b): colour conversion (jdcolor.c, the
 * same in both libraries), the smooth 4:4:0 chroma upsampling libjpeg-turbo added (6b replicates
 * rows there), and the inversion of Pillow's "CMYK;I" raw mode (Pillow reads every 4-component
 * JPEG as Adobe-inverted CMYK).
 */
final class LibjpegTurbo {
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

    private LibjpegTurbo() {
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

    /**
     * Redoes the vertical 2:1 upsampling of band {@code band} (a component sampled 1x2 below the
     * luma, "4:4:0") as libjpeg-turbo's h1v2_fancy_upsample: output row 2i is
     * {@code (3 in[i] + in[i-1] + 1) >> 2}, row 2i+1 is {@code (3 in[i] + in[i+1] + 2) >> 2}, the
     * first and last rows replicated as context. The input rows are recovered from libjpeg 6b's
     * replicated pairs; when the rows do not come in equal pairs (a JDK built on a libjpeg that
     * upsamples smoothly itself) the samples are left as they are.
     */
    static void smoothVerticalUpsampling(byte[] samples, int width, int height, int bands, int band) {
        int rowLength = width * bands;
        for (int y = 0; y + 1 < height; y += 2) {
            for (int x = 0; x < width; x++) {
                int at = y * rowLength + x * bands + band;
                if (samples[at] != samples[at + rowLength]) {
                    return;
                }
            }
        }
        int rows = (height + 1) / 2;
        int[] in = new int[rows * width];
        for (int i = 0; i < rows; i++) {
            for (int x = 0; x < width; x++) {
                in[i * width + x] = samples[2 * i * rowLength + x * bands + band] & 0xFF;
            }
        }
        for (int y = 0; y < height; y++) {
            int i = y / 2;
            int far = y % 2 == 0 ? Math.max(i - 1, 0) : Math.min(i + 1, rows - 1);
            int bias = y % 2 == 0 ? 1 : 2;
            for (int x = 0; x < width; x++) {
                int sum = 3 * in[i * width + x] + in[far * width + x];
                samples[y * rowLength + x * bands + band] = (byte) ((sum + bias) >> 2);
            }
        }
    }
}
