package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A batch of decode rows (one new position of each of several generations) gives every row
 * exactly what it gives alone, in every weight format, whatever the other rows hold: the promise
 * of {@code Backend.independentRows()} that batched generation rests on.
 */
@Tag("vector-width")
class IndependentRowsTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ForkJoinPool POOL = new ForkJoinPool(2);

    @AfterAll
    static void stop() {
        POOL.shutdown();
    }

    private static Tensor weight(String format, int rows, int cols, SplittableRandom rnd) {
        boolean half = !format.equals("fp32");
        MemorySegment w = MemorySegment.ofArray(new byte[rows * cols * (half ? 2 : 4)]);
        for (int i = 0; i < rows * cols; i++) {
            float v = (float) (rnd.nextGaussian() * 0.05);
            switch (format) {
                case "fp32" -> w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v);
                case "bf16" -> w.setAtIndex(LE, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                default -> w.setAtIndex(LE, i, Float.floatToFloat16(v));
            }
        }
        DType dtype = switch (format) {
            case "fp32" -> DType.FLOAT32;
            case "bf16" -> DType.BFLOAT16;
            default -> DType.FLOAT16;
        };
        return new Tensor("w", dtype, new long[] {rows, cols}, w);
    }

    private static WeightMatrix matrix(String format, int rows, int cols, SplittableRandom rnd) {
        Tensor t = weight(format.equals("q8") ? "fp16" : format, rows, cols, rnd);
        return format.equals("q8") ? WeightMatrix.of(Q8Quantizer.quantize(t)) : WeightMatrix.of(t);
    }

    private static float[] alone(WeightMatrix w, float[] x, int row, float[] bias) {
        float[] one = Arrays.copyOfRange(x, row * w.cols, (row + 1) * w.cols);
        float[] y = new float[w.rows];
        Gemm.multiply(one, 1, w.cols, w, bias, y, POOL);
        return y;
    }

    @ParameterizedTest
    @CsvSource({"fp16, 2, 64, 96", "fp16, 3, 70, 128", "fp16, 8, 100, 256", "fp16, 7, 4096, 64", "fp16, 16, 40, 128", "fp16, 13, 24, 64", "bf16, 5, 52, 64",
        "fp32, 8, 36, 48", "q8, 6, 40, 96", "q8, 16, 64, 100"})
    void everyRowOfABatchEqualsThatRowAloneBitForBit(String format, int m, int n, int k) {
        SplittableRandom rnd = new SplittableRandom(m * 1000L + n + k);
        WeightMatrix w = matrix(format, n, k, rnd);
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            bias[i] = (float) rnd.nextGaussian();
        }
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (1 + i / k));
        }
        float[] batch = new float[m * n];
        Gemm.multiply(x, m, k, w, bias, batch, POOL);
        for (int row = 0; row < m; row++) {
            float[] y = alone(w, x, row, bias);
            for (int o = 0; o < n; o++) {
                assertThat(Float.floatToRawIntBits(batch[row * n + o])).as("%s row %d output %d", format, row, o)
                        .isEqualTo(Float.floatToRawIntBits(y[o]));
            }
        }
    }

    /** A row too large to scale, and weights with inf, leave the fast path for that row or group only, as alone. */
    @Test
    void rowsThatLeaveTheFastPathDoSoAsTheyWouldAlone() {
        int n = 24;
        int k = 64;
        SplittableRandom rnd = new SplittableRandom(3);
        Tensor t = weight("fp16", n, k, rnd);
        t.data().setAtIndex(LE, 9L * k + 5, (short) 0x7c00);
        WeightMatrix w = WeightMatrix.of(t);
        float[] x = new float[4 * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        x[2 * k + 7] = 1e30f;
        float[] batch = new float[4 * n];
        Gemm.multiply(x, 4, k, w, null, batch, POOL);
        for (int row = 0; row < 4; row++) {
            float[] y = alone(w, x, row, null);
            for (int o = 0; o < n; o++) {
                assertThat(Float.valueOf(batch[row * n + o])).as("row %d output %d", row, o).isEqualTo(Float.valueOf(y[o]));
            }
        }
        assertThat(batch[9]).isInfinite();
    }

    @Test
    void theCpuBackendPromisesTheStreamedRowsInEveryOneDnnMode() {
        for (OneDnnMode mode : OneDnnMode.values()) {
            try (CpuBackend backend = CpuBackend.builder().threads(1).oneDnn(mode).build()) {
                // bf16 takes oneDNN from 5 rows (fast prefill), so only 4 rows are streamed there.
                int expected = backend.oneDnnMode() == OneDnnMode.BF16 ? Nd4jLinear.MIN_ROWS - 1 : Gemm.STREAM_ROWS;
                assertThat(backend.independentRows()).as("%s", mode).isEqualTo(expected);
            }
        }
    }
}
