package io.github.magmajava.quant;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Symmetric block-wise int8 quantization of a [rows, cols] weight: every run of {@link #BLOCK}
 * consecutive input features of a row gets the scale {@code s = max|w| / 127} (stored as float16,
 * rounded up so that no value needs more than 127) and values {@code q = round(w / s)} in
 * [-127, 127]. The error of every weight is at most {@code s / 2}: 1/254 of its block's largest
 * magnitude. Same layout idea as ggml's Q8_0 (32 int8 + one fp16 scale), stored as two tensors.
 */
public final class Q8Quantizer {
    /** Input features per scale: two 16-lane vectors, and 1/16 byte of scale per weight. */
    public static final int BLOCK = 32;

    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float FLOAT16_MAX = 65504f;

    private Q8Quantizer() {
    }

    /** Scales per row of {@code cols} values (the last block may be shorter). */
    public static int blocks(int cols) {
        return (cols + BLOCK - 1) / BLOCK;
    }

    /**
     * A heap copy of {@code weight} quantized: for tests and small weights (the cache quantizes
     * full-size weights chunk by chunk into its file instead).
     */
    public static Q8Tensor quantize(Tensor weight) {
        checkWeight(weight);
        int rows = (int) weight.dim(0);
        int cols = (int) weight.dim(1);
        MemorySegment values = MemorySegment.ofArray(new byte[Math.multiplyExact(rows, cols)]);
        MemorySegment scales = MemorySegment.ofArray(new short[Math.multiplyExact(rows, blocks(cols))]);
        quantizeRows(weight, 0, rows, values, scales);
        return new Q8Tensor(weight.name(), new Tensor(weight.name() + Q8Cache.VALUES_SUFFIX, DType.INT8, new long[] {rows, cols}, values),
                new Tensor(weight.name() + Q8Cache.SCALES_SUFFIX, DType.FLOAT16, new long[] {rows, blocks(cols)}, scales));
    }

    /** @throws IllegalArgumentException when {@code weight} is not a floating-point [rows, cols] matrix */
    static void checkWeight(Tensor weight) {
        if (weight.rank() != 2 || !weight.dtype().isFloatingPoint() || weight.dim(0) > Integer.MAX_VALUE
                || weight.dim(1) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cannot quantize " + weight.name() + " " + weight.describe()
                    + ": only floating-point [out, in] matrices are quantized");
        }
    }

    /**
     * Quantizes rows {@code r0 .. r1-1} of {@code weight} into {@code values} ({@code (r1-r0) * cols}
     * bytes) and {@code scales} ({@code (r1-r0) * blocks(cols)} little-endian float16).
     *
     * @throws IllegalArgumentException naming the weight and the row when a value is NaN, infinite or
     *                                  beyond what a float16 scale can express
     */
    static void quantizeRows(Tensor weight, int r0, int r1, MemorySegment values, MemorySegment scales) {
        int cols = (int) weight.dim(1);
        int blocks = blocks(cols);
        float[] row = new float[cols];
        byte[] q = new byte[cols];
        short[] s = new short[blocks];
        for (int r = r0; r < r1; r++) {
            readRow(weight, r, row);
            for (int b = 0; b < blocks; b++) {
                int from = b * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                float max = 0;
                for (int c = from; c < to; c++) {
                    max = Math.max(max, Math.abs(row[c]));
                }
                if (!(max <= FLOAT16_MAX * 127)) {
                    throw new IllegalArgumentException("cannot quantize " + weight.name() + ": row " + r + " holds "
                            + (Float.isNaN(max) ? "NaN" : max) + " in columns " + from + ".." + (to - 1)
                            + "; int8 weights need finite values below " + FLOAT16_MAX * 127);
                }
                s[b] = scale(max);
                float scale = Float.float16ToFloat(s[b]);
                for (int c = from; c < to; c++) {
                    q[c] = scale == 0 ? 0 : (byte) Math.clamp(Math.round(row[c] / scale), -127, 127);
                }
            }
            MemorySegment.copy(q, 0, values, ValueLayout.JAVA_BYTE, (long) (r - r0) * cols, cols);
            MemorySegment.copy(s, 0, scales, F16, (long) (r - r0) * blocks * 2, blocks);
        }
    }

    /**
     * The float16 scale of a block whose largest magnitude is {@code max}: the nearest float16 to
     * {@code max / 127}, one step up when that is smaller (so {@code |w| / s <= 127}); 0 for an
     * all-zero block.
     */
    static short scale(float max) {
        if (max == 0) {
            return 0;
        }
        float wanted = max / 127;
        short h = Float.floatToFloat16(wanted);
        return Float.float16ToFloat(h) < wanted ? (short) (h + 1) : h;
    }

    private static void readRow(Tensor weight, int r, float[] row) {
        MemorySegment data = weight.data();
        long first = (long) r * row.length;
        switch (weight.dtype()) {
            case FLOAT16 -> {
                for (int c = 0; c < row.length; c++) {
                    row[c] = Float.float16ToFloat(data.getAtIndex(F16, first + c));
                }
            }
            case BFLOAT16 -> {
                for (int c = 0; c < row.length; c++) {
                    row[c] = Float.intBitsToFloat(data.getAtIndex(F16, first + c) << 16);
                }
            }
            case FLOAT32 -> MemorySegment.copy(data, F32, first * 4, row, 0, row.length);
            default -> throw new IllegalArgumentException("cannot quantize " + weight.name() + " of dtype " + weight.dtype().torchName());
        }
    }
}
