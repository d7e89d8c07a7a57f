package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The int8 kernels against {@link ReferenceBackend} on the dequantized weights (q * s as float32):
 * the same math, so only float32 accumulation order differs (2e-5 of the output scale, as in
 * BackendConformanceTest). Shapes hit the decode path (m <= 4), the panel path, whole and partial
 * blocks of 32 and vector tails.
 */
@Tag("vector-width")
class Q8GemmTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (int threads : new int[] {1, 3}) {
            for (int[] mkn : new int[][] {{1, 64, 40}, {1, 4096, 48}, {2, 33, 7}, {3, 16, 16}, {4, 100, 37}, {1, 24, 5},
                    {5, 48, 20}, {7, 15, 9}, {130, 70, 35}, {16, 256, 64}, {1, 8, 3}}) {
                cases.add(Arguments.of(threads, mkn[0], mkn[1], mkn[2]));
            }
        }
        return cases.build();
    }

    @ParameterizedTest(name = "threads={0} m={1} k={2} n={3}")
    @MethodSource("shapes")
    void int8LinearMatchesTheReferenceOnDequantizedWeights(int threads, int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(m * 131L + k * 17L + n);
        Tensor w = fp16("w", rnd, n, k, 0.02);
        Tensor b = vector(fp16("b", rnd, n, 1, 0.002));
        Q8Tensor q = Q8Quantizer.quantize(w);
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] expected = new float[m * n];
        float[] actual = new float[m * n];
        new ReferenceBackend().linear(dequantized(q), b, Split.REPLICATED).forward(x, m, expected);
        try (CpuBackend cpu = CpuBackend.builder().threads(threads).quantized(Q8Weights.of(List.of(q))).build()) {
            cpu.linear(w, b, Split.OUTPUT_COLUMNS).forward(x, m, actual);
        }
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("max error vs output scale %s", scale).isLessThanOrEqualTo(2e-5 * Math.max(scale, 1));
    }

    @Test
    void weightsWithoutAnInt8FormStayAsStoredBitForBit() {
        SplittableRandom rnd = new SplittableRandom(7);
        Tensor quantized = fp16("a", rnd, 20, 64, 0.02);
        Tensor plain = fp16("b", rnd, 20, 64, 0.02);
        float[] x = new float[64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] viaQ8Backend = new float[20];
        float[] viaPlainBackend = new float[20];
        float[] quantizedOut = new float[20];
        float[] fp16Out = new float[20];
        try (CpuBackend q8 = CpuBackend.builder().threads(2).quantized(Q8Weights.of(List.of(Q8Quantizer.quantize(quantized)))).build();
                CpuBackend cpu = CpuBackend.withThreads(2)) {
            q8.linear(plain, null, Split.REPLICATED).forward(x, 1, viaQ8Backend);
            cpu.linear(plain, null, Split.REPLICATED).forward(x, 1, viaPlainBackend);
            q8.linear(quantized, null, Split.REPLICATED).forward(x, 1, quantizedOut);
            cpu.linear(quantized, null, Split.REPLICATED).forward(x, 1, fp16Out);
        }
        assertThat(viaQ8Backend).containsExactly(viaPlainBackend);
        assertThat(quantizedOut).isNotEqualTo(fp16Out).containsExactly(fp16Out, Offset.offset(0.01f));
    }

    @Test
    void anInt8WeightOfAnotherShapeIsRefused() {
        SplittableRandom rnd = new SplittableRandom(3);
        Q8Weights q = Q8Weights.of(List.of(Q8Quantizer.quantize(fp16("lm.lm_head.weight", rnd, 8, 32, 0.02))));
        try (CpuBackend cpu = CpuBackend.builder().threads(1).quantized(q).build()) {
            assertThatThrownBy(() -> cpu.linear(fp16("lm.lm_head.weight", rnd, 8, 64, 0.02), null, Split.VOCABULARY))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("lm.lm_head.weight").hasMessageContaining("[8, 32]").hasMessageContaining("[8, 64]");
        }
    }

    /** vector(r, c) at every column, block-straddling ones included, equals get(r, c) lane by lane. */
    @Test
    void vectorsAndRowsDequantizeLikeSingleValues() {
        Q8Tensor q = Q8Quantizer.quantize(fp16("w", new SplittableRandom(5), 3, 70, 1.0));
        WeightMatrix w = WeightMatrix.of(q);
        float[] lanes = new float[HalfFloats.LANES];
        float[] row = new float[70];
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c + HalfFloats.LANES <= 70; c++) {
                w.vector(r, c).intoArray(lanes, 0);
                for (int i = 0; i < lanes.length; i++) {
                    assertThat(lanes[i]).as("[%d, %d]", r, c + i).isEqualTo(q.get(r, c + i));
                }
            }
            w.widenRow(r, row, 0);
            for (int c = 0; c < 70; c++) {
                assertThat(row[c]).isEqualTo(q.get(r, c)).isEqualTo(w.get(r, c));
            }
        }
    }

    private static Tensor fp16(String name, SplittableRandom rnd, int rows, int cols, double std) {
        MemorySegment data = MemorySegment.ofArray(new byte[rows * cols * 2]);
        for (long i = 0; i < (long) rows * cols; i++) {
            data.setAtIndex(F16, i, Float.floatToFloat16((float) (rnd.nextGaussian() * std)));
        }
        return new Tensor(name, DType.FLOAT16, new long[] {rows, cols}, data);
    }

    private static Tensor vector(Tensor column) {
        return new Tensor(column.name(), column.dtype(), new long[] {column.dim(0)}, column.data());
    }

    private static Tensor dequantized(Q8Tensor q) {
        MemorySegment data = MemorySegment.ofArray(new float[q.rows() * q.cols()]);
        for (int r = 0; r < q.rows(); r++) {
            for (int c = 0; c < q.cols(); c++) {
                data.setAtIndex(F32, (long) r * q.cols() + c, q.get(r, c));
            }
        }
        return new Tensor(q.name(), DType.FLOAT32, new long[] {q.rows(), q.cols()}, data);
    }
}
