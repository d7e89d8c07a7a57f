package io.github.magmajava.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Round trips within the bound the format promises: |w - q s| <= s / 2, s = max|block| / 127 rounded up to float16. */
class Q8QuantizerTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A [rows, cols] weight of {@code dtype} holding {@code values} (rounded to the dtype). */
    static Tensor tensor(String name, DType dtype, int rows, int cols, float[] values) {
        MemorySegment data = MemorySegment.ofArray(new byte[rows * cols * dtype.byteSize()]);
        for (int i = 0; i < values.length; i++) {
            switch (dtype) {
                case FLOAT16 -> data.setAtIndex(F16, i, Float.floatToFloat16(values[i]));
                case BFLOAT16 -> data.setAtIndex(F16, i, (short) (Float.floatToRawIntBits(values[i]) >>> 16));
                case FLOAT32 -> data.setAtIndex(F32, i, values[i]);
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor(name, dtype, new long[] {rows, cols}, data);
    }

    static float[] gaussian(SplittableRandom rnd, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * std);
        }
        return v;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT16", "BFLOAT16", "FLOAT32"})
    void roundTripIsWithinHalfAScaleAndEveryBlockUsesTheFullRange(DType dtype) {
        SplittableRandom rnd = new SplittableRandom(dtype.ordinal());
        for (int[] shape : new int[][] {{3, 32}, {5, 70}, {7, 24}, {2, 8}, {4, 4096}, {1, 1}}) {
            int rows = shape[0];
            int cols = shape[1];
            float[] values = gaussian(rnd, rows * cols, 0.02);
            values[values.length / 2] = 0.3f; // an outlier: its block gets a large scale, the others do not
            Tensor w = tensor("w", dtype, rows, cols, values);
            Q8Tensor q = Q8Quantizer.quantize(w);
            assertThat(q.name()).isEqualTo("w");
            assertThat(q.values().shape()).containsExactly(rows, cols);
            assertThat(q.scales().shape()).containsExactly(rows, (cols + 31) / 32);
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < Q8Quantizer.blocks(cols); b++) {
                    float s = q.scale(r, b);
                    float max = 0;
                    int maxQ = 0;
                    for (int c = b * 32; c < Math.min(cols, b * 32 + 32); c++) {
                        float original = w.getFloat((long) r * cols + c);
                        max = Math.max(max, Math.abs(original));
                        maxQ = Math.max(maxQ, Math.abs((int) q.values().getFloat((long) r * cols + c)));
                        assertThat((double) Math.abs(q.get(r, c) - original)).as("%s [%d, %d] of %dx%d", dtype, r, c, rows, cols)
                                .isLessThanOrEqualTo(s * 0.5 * (1 + 1e-6) + 1e-12);
                    }
                    assertThat(s).isGreaterThanOrEqualTo(max / 127);
                    assertThat((double) s).isLessThanOrEqualTo(max / 127 * (1 + 1.0 / 1024) + 6e-8);
                    assertThat(maxQ).as("the largest value maps to 127").isEqualTo(127);
                }
            }
        }
    }

    @Test
    void zeroBlocksHaveZeroScalesAndTinyBlocksStillMeetTheBound() {
        float[] values = new float[64];
        for (int i = 32; i < 64; i++) {
            values[i] = (i - 48) * 1e-9f; // far below float16's normal range: a subnormal scale
        }
        Tensor w = tensor("tiny", DType.FLOAT32, 1, 64, values);
        Q8Tensor q = Q8Quantizer.quantize(w);
        assertThat(q.scale(0, 0)).isZero();
        for (int c = 0; c < 32; c++) {
            assertThat(q.get(0, c)).isZero();
        }
        float s = q.scale(0, 1);
        assertThat(s).isPositive();
        for (int c = 32; c < 64; c++) {
            assertThat((double) Math.abs(q.get(0, c) - values[c])).isLessThanOrEqualTo(s * 0.5 * (1 + 1e-6));
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {1e-3f, 0.02f, 1f, 127f, 300f, 65504f * 127, 1e-7f, 3e-9f})
    void theScaleIsTheSmallestFloat16NotBelowMaxOver127(float max) {
        short h = Q8Quantizer.scale(max);
        assertThat(Float.float16ToFloat(h)).isGreaterThanOrEqualTo(max / 127).isFinite();
        assertThat(Float.float16ToFloat((short) (h - 1))).isLessThan(max / 127);
    }

    @Test
    void nonFiniteValuesAreRefusedNamingTheWeightAndRow() {
        float[] values = new float[2 * 40];
        values[40 + 35] = Float.NaN;
        assertThatThrownBy(() -> Q8Quantizer.quantize(tensor("lm.lm_head.weight", DType.FLOAT32, 2, 40, values)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lm.lm_head.weight").hasMessageContaining("row 1").hasMessageContaining("NaN")
                .hasMessageContaining("columns 32..39");
        values[40 + 35] = Float.POSITIVE_INFINITY;
        assertThatThrownBy(() -> Q8Quantizer.quantize(tensor("w", DType.FLOAT16, 2, 40, values)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Infinity");
    }

    @Test
    void onlyFloatingPointMatricesAreQuantized() {
        Tensor vector = new Tensor("ln.weight", DType.FLOAT16, new long[] {8}, MemorySegment.ofArray(new byte[16]));
        assertThatThrownBy(() -> Q8Quantizer.quantize(vector)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ln.weight").hasMessageContaining("float16[8]");
        Tensor ints = new Tensor("ids", DType.INT64, new long[] {2, 2}, MemorySegment.ofArray(new byte[32]));
        assertThatThrownBy(() -> Q8Quantizer.quantize(ints)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ids");
    }

    @Test
    void aPairWithWrongShapesIsRefused() {
        Tensor values = new Tensor("w.q8", DType.INT8, new long[] {2, 40}, MemorySegment.ofArray(new byte[80]));
        Tensor scales = new Tensor("w.scale", DType.FLOAT16, new long[] {2, 1}, MemorySegment.ofArray(new byte[4]));
        assertThatThrownBy(() -> new Q8Tensor("w", values, scales)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("q8 scales of w must be float16 [2, 2]").hasMessageContaining("float16[2, 1]");
        assertThatThrownBy(() -> new Q8Tensor("w", scales, scales)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be int8");
    }

    @Test
    void weightFormatsParseByTheirCommandLineNames() {
        assertThat(WeightFormat.parse("q8")).isEqualTo(WeightFormat.Q8);
        assertThat(WeightFormat.parse(" FP16 ")).isEqualTo(WeightFormat.FP16);
        assertThatThrownBy(() -> WeightFormat.parse("int4")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'int4'").hasMessageContaining("fp16, q8");
    }
}
