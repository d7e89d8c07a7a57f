package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fp16 decode kernel ({@link WeightMatrix#dots}: four rows at a time, x pre-scaled) against
 * the one-row exact path and a double-precision reference, including the cases that leave the
 * fast path: inf and NaN weights, activations too large to scale, rows not a multiple of four.
 */
@Tag("vector-width")
class WeightMatrixDotsTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static MemorySegment randomHalfs(SplittableRandom rnd, int rows, int cols) {
        MemorySegment w = MemorySegment.ofArray(new byte[rows * cols * 2]);
        for (int i = 0; i < rows * cols; i++) {
            // Mostly normals around 0.02, with zeros and subnormals mixed in.
            float v = switch (rnd.nextInt(20)) {
                case 0 -> 0f;
                case 1 -> (float) (rnd.nextGaussian() * 3e-6);
                default -> (float) (rnd.nextGaussian() * 0.02);
            };
            w.setAtIndex(LE, i, Float.floatToFloat16(v));
        }
        return w;
    }

    private static float[] dots(WeightMatrix m, float[] x) {
        float[] out = new float[m.rows + 3];
        m.dots(0, m.rows, x, 2, out, 3);
        return out;
    }

    @ParameterizedTest
    @CsvSource({"4, 16", "8, 64", "13, 48", "3, 32", "12, 4096"})
    void groupedRowsEqualTheExactRowByRowPathBitForBit(int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 31 + cols);
        WeightMatrix m = WeightMatrix.of(new Tensor("w", DType.FLOAT16,
                new long[] {rows, cols}, randomHalfs(rnd, rows, cols)));
        float[] x = new float[cols + 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 40);
        }
        float[] out = dots(m, x);
        for (int r = 0; r < rows; r++) {
            assertThat(Float.floatToRawIntBits(out[3 + r])).as("row %d", r)
                    .isEqualTo(Float.floatToRawIntBits(m.dot(r, x, 2)));
            double expected = 0;
            for (int c = 0; c < cols; c++) {
                expected += (double) m.get(r, c) * x[2 + c];
            }
            assertThat((double) out[3 + r]).as("row %d", r).isCloseTo(expected, offset(1e-4 * Math.max(1, Math.abs(expected))));
        }
        // Called again (groups now scanned and remembered) the answer is the same.
        assertThat(dots(m, x)).isEqualTo(out);
    }

    @ParameterizedTest
    @CsvSource({"31744, Infinity", "64512, -Infinity", "32767, NaN", "31745, NaN"})
    void infAndNanWeightsPropagateAsInTheExactPath(int bits, float expected) {
        int rows = 12;
        int cols = 32;
        SplittableRandom rnd = new SplittableRandom(bits);
        MemorySegment w = randomHalfs(rnd, rows, cols);
        w.setAtIndex(LE, 5L * cols + 17, (short) bits);
        WeightMatrix m = WeightMatrix.of(new Tensor("w", DType.FLOAT16,
                new long[] {rows, cols}, w));
        float[] x = new float[cols + 2];
        Arrays.fill(x, 0.5f);
        float[] out = dots(m, x);
        assertThat(Float.valueOf(out[3 + 5])).isEqualTo(Float.valueOf(expected)); // Float.equals: NaN equals NaN
        for (int r = 0; r < rows; r++) {
            if (r != 5) {
                assertThat(out[3 + r]).as("row %d", r).isEqualTo(m.dot(r, x, 2)).matches(Float::isFinite);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"65536", "-1e30", "3.4e38", "Infinity", "NaN"})
    void activationsTooLargeToScaleTakeTheExactPath(float large) {
        int rows = 8;
        int cols = 48;
        SplittableRandom rnd = new SplittableRandom(7);
        WeightMatrix m = WeightMatrix.of(new Tensor("w", DType.FLOAT16,
                new long[] {rows, cols}, randomHalfs(rnd, rows, cols)));
        float[] x = new float[cols + 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        x[2 + 20] = large;
        float[] out = dots(m, x);
        for (int r = 0; r < rows; r++) {
            // Scaled by 2^112, a finite x[20] would overflow to infinity, and every row with it.
            assertThat(Float.valueOf(out[3 + r])).as("row %d", r).isEqualTo(Float.valueOf(m.dot(r, x, 2)));
            assertThat(Float.isFinite(out[3 + r])).as("row %d", r).isEqualTo(Float.isFinite(large));
        }
    }

    /** The prefill widening (fast for finite rows, exact otherwise) equals the scalar conversion bit for bit. */
    @ParameterizedTest
    @CsvSource({"8, 32", "13, 48", "6, 20"})
    void widenedRowsEqualTheScalarConversion(int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows + cols);
        MemorySegment w = randomHalfs(rnd, rows, cols);
        w.setAtIndex(LE, 2L * cols + 3, (short) 0x7c00);
        w.setAtIndex(LE, (rows - 1L) * cols + 1, (short) 0xfe01);
        WeightMatrix m = WeightMatrix.of(new Tensor("w", DType.FLOAT16, new long[] {rows, cols}, w));
        MemorySegment dst = MemorySegment.ofArray(new float[(rows + 1) * cols]);
        m.widenRows(1, rows - 1, dst, 4L * cols);
        for (int r = 1; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float expected = Float.float16ToFloat(w.getAtIndex(LE, (long) r * cols + c));
                float actual = dst.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * cols + c);
                assertThat(Float.floatToRawIntBits(actual)).as("[%d, %d]", r, c).isEqualTo(Float.floatToRawIntBits(expected));
            }
        }
    }
}
