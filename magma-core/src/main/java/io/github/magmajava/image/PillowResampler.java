package io.github.magmajava.image;

/**
 * Pillow's {@code Image.resize} arithmetic (libImaging Resample.c and the nearest-neighbour scale
 * of Geometry.c, Pillow 7 to 10 with {@code reducing_gap=None}), reproduced to the bit. Everything
 * here works on row-major interleaved samples; the mode handling (premultiplied alpha, palettes,
 * conversion to RGB) lives in {@link PillowConvert} and {@link ClipPreprocessor}.
 *
 * <p>Bicubic is a separable convolution with Keys' cubic (a = -0.5), support 2 widened by the
 * downscale factor, weights normalised to sum 1 per output sample. The horizontal pass runs first,
 * then the vertical one; a pass whose size does not change is skipped. For 8-bit images the
 * weights become 22-bit fixed-point integers and each pass rounds and clips to 0..255; mode "I"
 * keeps double weights and rounds half away from zero to int after each pass, without clipping.
 */
final class PillowResampler {
    /** 32 bits minus 8 for the sample and 2 for the overshoot of negative lobes. */
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double BICUBIC_SUPPORT = 2.0;

    private PillowResampler() {
    }

    /**
     * The weights of one pass: output sample {@code i} reads {@code count[i]} input samples from
     * {@code first[i]} with the weights at {@code i * stride}.
     */
    private record Taps(int[] first, int[] count, double[] weights, int stride) {
    }

    /** Keys' cubic convolution kernel with a = -0.5, written in Pillow's operation order. */
    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** precompute_coeffs for the whole input range (the box is the full image). */
    private static Taps taps(int inSize, int outSize) {
        // Pillow passes the box as C floats; (float) keeps sizes above 2^24 rounded as it does.
        float in1 = inSize;
        double scale = (double) in1 / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = BICUBIC_SUPPORT * filterScale;
        int stride = (int) Math.ceil(support) * 2 + 1;
        if ((long) outSize * stride > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("resampling " + inSize + " to " + outSize + " needs too many weights");
        }
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        double[] weights = new double[outSize * stride];
        double inverse = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            int base = xx * stride;
            double sum = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = bicubic((x + xmin - center + 0.5) * inverse);
                weights[base + x] = w;
                sum += w;
            }
            if (sum != 0.0) {
                for (int x = 0; x < xmax; x++) {
                    weights[base + x] /= sum;
                }
            }
            first[xx] = xmin;
            count[xx] = Math.max(xmax, 0);
        }
        return new Taps(first, count, weights, stride);
    }

    /** normalize_coeffs_8bpc: weights to fixed point, rounded half away from zero. */
    private static int[] fixedPoint(double[] weights) {
        int[] fixed = new int[weights.length];
        double one = 1 << PRECISION_BITS;
        for (int i = 0; i < weights.length; i++) {
            double w = weights[i];
            fixed[i] = w < 0 ? (int) (-0.5 + w * one) : (int) (0.5 + w * one);
        }
        return fixed;
    }

    /** The 8-bit result of a fixed-point sum that started at half a unit: floor, then clip. */
    private static byte clip8(int sum) {
        int v = sum >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Bicubic resize of 8-bit interleaved samples ({@code bands} per pixel, each resized alone). */
    static byte[] bicubic(byte[] src, int width, int height, int bands, int outWidth, int outHeight) {
        checkSizes(src.length, (long) width * height * bands, outWidth, outHeight);
        byte[] image = src;
        int w = width;
        if (outWidth != width) {
            image = horizontal8(image, w, height, bands, outWidth, taps(width, outWidth));
            w = outWidth;
        }
        if (outHeight != height) {
            image = vertical8(image, w, height, bands, outHeight, taps(height, outHeight));
        }
        return image == src ? src.clone() : image;
    }

    private static byte[] horizontal8(byte[] src, int width, int height, int bands, int outWidth, Taps taps) {
        int[] k = fixedPoint(taps.weights());
        byte[] out = new byte[outWidth * height * bands];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < height; y++) {
            int row = y * width;
            for (int xx = 0; xx < outWidth; xx++) {
                int first = taps.first()[xx];
                int count = taps.count()[xx];
                int base = xx * taps.stride();
                for (int b = 0; b < bands; b++) {
                    int sum = half;
                    int at = (row + first) * bands + b;
                    for (int x = 0; x < count; x++, at += bands) {
                        sum += (src[at] & 0xFF) * k[base + x];
                    }
                    out[(y * outWidth + xx) * bands + b] = clip8(sum);
                }
            }
        }
        return out;
    }

    private static byte[] vertical8(byte[] src, int width, int height, int bands, int outHeight, Taps taps) {
        int[] k = fixedPoint(taps.weights());
        int rowLength = width * bands;
        byte[] out = new byte[rowLength * outHeight];
        int half = 1 << (PRECISION_BITS - 1);
        for (int yy = 0; yy < outHeight; yy++) {
            int first = taps.first()[yy];
            int count = taps.count()[yy];
            int base = yy * taps.stride();
            for (int i = 0; i < rowLength; i++) {
                int sum = half;
                int at = first * rowLength + i;
                for (int y = 0; y < count; y++, at += rowLength) {
                    sum += (src[at] & 0xFF) * k[base + y];
                }
                out[yy * rowLength + i] = clip8(sum);
            }
        }
        return out;
    }

    /** Bicubic resize of one band of 32-bit integers (Pillow mode "I"). */
    static int[] bicubic(int[] src, int width, int height, int outWidth, int outHeight) {
        checkSizes(src.length, (long) width * height, outWidth, outHeight);
        int[] image = src;
        int w = width;
        if (outWidth != width) {
            Taps taps = taps(width, outWidth);
            int[] out = new int[outWidth * height];
            for (int y = 0; y < height; y++) {
                for (int xx = 0; xx < outWidth; xx++) {
                    double sum = 0.0;
                    int at = y * w + taps.first()[xx];
                    int base = xx * taps.stride();
                    for (int x = 0; x < taps.count()[xx]; x++) {
                        sum += image[at + x] * taps.weights()[base + x];
                    }
                    out[y * outWidth + xx] = roundHalfUp(sum);
                }
            }
            image = out;
            w = outWidth;
        }
        if (outHeight != height) {
            Taps taps = taps(height, outHeight);
            int[] out = new int[w * outHeight];
            for (int yy = 0; yy < outHeight; yy++) {
                int base = yy * taps.stride();
                for (int x = 0; x < w; x++) {
                    double sum = 0.0;
                    int at = taps.first()[yy] * w + x;
                    for (int y = 0; y < taps.count()[yy]; y++, at += w) {
                        sum += image[at] * taps.weights()[base + y];
                    }
                    out[yy * w + x] = roundHalfUp(sum);
                }
            }
            image = out;
        }
        return image == src ? src.clone() : image;
    }

    /** Resample.c's ROUND_UP: half away from zero, then truncate to int. */
    private static int roundHalfUp(double v) {
        return (int) (v >= 0.0 ? v + 0.5 : v - 0.5);
    }

    /**
     * Nearest-neighbour resize as Pillow does it for modes "1" and "P": the source position of
     * output column x is the running sum {@code s/2 + x*s} (s = in/out) truncated, accumulated in
     * doubles exactly as ImagingScaleAffine does.
     */
    static byte[] nearest(byte[] src, int width, int height, int bands, int outWidth, int outHeight) {
        checkSizes(src.length, (long) width * height * bands, outWidth, outHeight);
        if (outWidth == width && outHeight == height) {
            return src.clone();
        }
        int[] columns = nearestIndices((double) (float) width / outWidth, outWidth, width);
        int[] rows = nearestIndices((double) (float) height / outHeight, outHeight, height);
        byte[] out = new byte[outWidth * outHeight * bands];
        for (int y = 0; y < outHeight; y++) {
            if (rows[y] < 0) {
                continue;
            }
            for (int x = 0; x < outWidth; x++) {
                if (columns[x] >= 0) {
                    System.arraycopy(src, (rows[y] * width + columns[x]) * bands, out, (y * outWidth + x) * bands, bands);
                }
            }
        }
        return out;
    }

    /** Source index per output index, or -1 where it falls outside (Pillow then leaves 0). */
    private static int[] nearestIndices(double step, int outSize, int inSize) {
        int[] index = new int[outSize];
        double position = step * 0.5;
        for (int i = 0; i < outSize; i++) {
            int source = position < 0.0 ? -1 : (int) position;
            index[i] = source < inSize ? source : -1;
            position += step;
        }
        return index;
    }

    private static void checkSizes(long length, long expected, int outWidth, int outHeight) {
        if (length != expected) {
            throw new IllegalArgumentException("expected " + expected + " samples, got " + length);
        }
        if (outWidth <= 0 || outHeight <= 0) {
            throw new IllegalArgumentException("output size " + outWidth + "x" + outHeight);
        }
    }
}
