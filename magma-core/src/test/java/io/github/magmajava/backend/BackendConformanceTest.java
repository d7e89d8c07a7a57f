package io.github.magmajava.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fast backend against {@link ReferenceBackend}, op by op, over shapes that hit the vector
 * tails, the 4 x 4 tiles, the streaming (few rows) and the panel (many rows) paths, and every
 * weight dtype. Backends are shared by all cases (JUnit must not close them per case). Tolerance: float32 accumulation-order differences, 2e-5 relative to the output scale.
 */
@Tag("vector-width")
class BackendConformanceTest {
    private static final Backend REFERENCE = new ReferenceBackend();
    private static final CpuBackend CPU_1 = CpuBackend.withThreads(1);
    private static final CpuBackend CPU_2 = CpuBackend.withThreads(2);

    @AfterAll
    static void close() {
        CPU_1.close();
        CPU_2.close();
    }

    static Stream<Backend> fast() {
        return Stream.of(CPU_1, CPU_2);
    }

    static Stream<Arguments> linearCases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (Backend b : fast().toList()) {
            for (DType dtype : new DType[] {DType.FLOAT16, DType.BFLOAT16, DType.FLOAT32}) {
                for (int[] mkn : new int[][] {{1, 64, 40}, {2, 33, 7}, {3, 16, 16}, {4, 100, 37}, {5, 48, 20}, {7, 15, 9},
                        {130, 70, 35}, {16, 256, 64}, {9, 601, 13}}) {
                    cases.add(Arguments.of(b, dtype, mkn[0], mkn[1], mkn[2], true));
                }
                cases.add(Arguments.of(b, dtype, 6, 40, 18, false));
            }
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0} {1} m={2} k={3} n={4} bias={5}", autoCloseArguments = false)
    @MethodSource("linearCases")
    void linearMatchesReference(Backend backend, DType dtype, int m, int k, int n, boolean withBias) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + k * 7L + n);
        Tensor w = tensor("w", dtype, rnd, n, k);
        Tensor b = withBias ? tensor("b", dtype, rnd, n) : null;
        float[] x = random(rnd, m * k);
        float[] expected = new float[m * n];
        float[] actual = new float[m * n];
        REFERENCE.linear(w, b, Split.REPLICATED).forward(x, m, expected);
        backend.linear(w, b, Split.OUTPUT_COLUMNS).forward(x, m, actual);
        assertClose(actual, expected);
    }

    static Stream<Arguments> convCases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (Backend b : fast().toList()) {
            // in, out, kernel, stride, padding, h, w
            cases.add(Arguments.of(b, new int[] {3, 8, 3, 2, 1, 17, 16}));
            cases.add(Arguments.of(b, new int[] {8, 8, 3, 1, 1, 9, 11}));
            cases.add(Arguments.of(b, new int[] {8, 32, 1, 1, 0, 6, 6}));
            cases.add(Arguments.of(b, new int[] {5, 3, 1, 1, 0, 4, 5}));
            cases.add(Arguments.of(b, new int[] {20, 17, 3, 1, 1, 12, 12}));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0} {1}", autoCloseArguments = false)
    @MethodSource("convCases")
    void convMatchesReference(Backend backend, int[] g) {
        int in = g[0], out = g[1], k = g[2], stride = g[3], pad = g[4], h = g[5], w = g[6];
        SplittableRandom rnd = new SplittableRandom(in * 13L + out);
        float[] weight = random(rnd, out * in * k * k);
        float[] bias = random(rnd, out);
        float[] x = random(rnd, in * h * w);
        Conv2d ref = REFERENCE.conv2d("conv", weight, bias, in, out, k, stride, pad);
        Conv2d fast = backend.conv2d("conv", weight, bias, in, out, k, stride, pad);
        int oh = ref.outSize(h), ow = ref.outSize(w);
        float[] expected = new float[out * oh * ow];
        float[] actual = new float[out * oh * ow];
        ref.forward(x, h, w, expected);
        fast.forward(x, h, w, actual);
        assertClose(actual, expected);
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("fast")
    void elementwiseOpsMatchReference(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 3, dim = 37;
        float[] x = random(rnd, rows * dim);
        for (int i = 0; i < dim; i++) {
            x[i] += 100; // a large offset: LayerNorm must stay accurate
        }
        float[] gamma = random(rnd, dim), beta = random(rnd, dim);
        float[] expected = new float[rows * dim], actual = new float[rows * dim];
        REFERENCE.layerNorm(x, rows, dim, gamma, beta, 1e-5f, expected);
        backend.layerNorm(x, rows, dim, gamma, beta, 1e-5f, actual);
        assertClose(actual, expected);

        float[] g1 = scaled(random(rnd, 70), 4), g2 = g1.clone();
        REFERENCE.gelu(g1, g1.length);
        backend.gelu(g2, g2.length);
        assertClose(g2, g1);

        float[] r1 = random(rnd, 35), r2 = r1.clone(), y = random(rnd, 35);
        REFERENCE.relu(r1, 35);
        backend.relu(r2, 35);
        assertThat(r2).containsExactly(r1);
        REFERENCE.add(r1, y, 35);
        backend.add(r2, y, 35);
        assertClose(r2, r1);

        float[] img = random(rnd, 3 * 7 * 6);
        float[] p1 = new float[3 * 3 * 3], p2 = new float[3 * 3 * 3];
        REFERENCE.avgPool2d(img, 3, 7, 6, 2, p1);
        backend.avgPool2d(img, 3, 7, 6, 2, p2);
        assertClose(p2, p1);
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("fast")
    void ropeAndAttentionMatchReference(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(9);
        int heads = 3, headDim = 20, rotary = 8, rows = 5, start = 4, d = heads * headDim;
        float[] q1 = random(rnd, rows * d), q2 = q1.clone();
        REFERENCE.rope(q1, rows, heads, headDim, rotary, 10000, start);
        backend.rope(q2, rows, heads, headDim, rotary, 10000, start);
        assertClose(q2, q1);

        float[] keys = random(rnd, (start + rows) * d), values = random(rnd, (start + rows) * d);
        float[] expected = new float[rows * d], actual = new float[rows * d];
        REFERENCE.attention(q1, KeyValues.of(keys, values), rows, start, heads, headDim, expected);
        backend.attention(q1, KeyValues.of(keys, values), rows, start, heads, headDim, actual);
        assertClose(actual, expected);

        // The same positions behind a kept prefix of 3: the same sums in the same order
        int shared = 3;
        KeyValues split = new KeyValues(Arrays.copyOf(keys, shared * d), Arrays.copyOf(values, shared * d), shared,
                Arrays.copyOfRange(keys, shared * d, keys.length), Arrays.copyOfRange(values, shared * d, values.length));
        float[] behindPrefix = new float[rows * d];
        backend.attention(q1, split, rows, start, heads, headDim, behindPrefix);
        assertThat(behindPrefix).containsExactly(actual);
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("fast")
    void embeddingGathersRowsAndRejectsUnknownIds(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(3);
        Tensor table = tensor("wte", DType.FLOAT16, rnd, 10, 33);
        float[] expected = new float[3 * 33], actual = new float[3 * 33];
        REFERENCE.embedding(table, new int[] {9, 0, 4}, expected);
        backend.embedding(table, new int[] {9, 0, 4}, actual);
        assertThat(actual).containsExactly(expected);
        assertThatThrownBy(() -> backend.embedding(table, new int[] {10}, new float[33]))
                .hasMessageContaining("token id 10").hasMessageContaining("wte");
    }

    /** Reproducible sampling needs bit-identical logits whether the kernels run interpreted or compiled. */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("fast")
    void resultsAreBitIdenticalBeforeAndAfterWarmUp(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(11);
        Tensor w = tensor("w", DType.FLOAT16, rnd, 40, 72);
        Linear linear = backend.linear(w, null, Split.REPLICATED);
        float[] x = random(rnd, 6 * 72), g = scaled(random(rnd, 64), 3);
        float[] coldLinear = new float[6 * 40], coldNorm = new float[64], coldGelu = g.clone();
        linear.forward(x, 6, coldLinear);
        backend.layerNorm(x, 1, 64, g, g, 1e-5f, coldNorm);
        backend.gelu(coldGelu, 64);
        for (int i = 0; i < 3000; i++) {
            float[] y = new float[6 * 40], n = new float[64], e = g.clone();
            linear.forward(x, 6, y);
            linear.forward(x, 1, y);
            backend.layerNorm(x, 1, 64, g, g, 1e-5f, n);
            backend.gelu(e, 64);
        }
        float[] warmLinear = new float[6 * 40], warmNorm = new float[64], warmGelu = g.clone();
        linear.forward(x, 6, warmLinear);
        backend.layerNorm(x, 1, 64, g, g, 1e-5f, warmNorm);
        backend.gelu(warmGelu, 64);
        assertThat(warmLinear).containsExactly(coldLinear);
        assertThat(warmNorm).containsExactly(coldNorm);
        assertThat(warmGelu).containsExactly(coldGelu);
    }

    private static void assertClose(float[] actual, float[] expected) {
        float scale = 1e-6f;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(2e-5f * scale));
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static float[] scaled(float[] v, float s) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return v;
    }

    static Tensor tensor(String name, DType dtype, SplittableRandom rnd, long... shape) {
        int n = (int) Tensor.numel(shape);
        MemorySegment seg = MemorySegment.ofArray(new byte[n * dtype.byteSize()]);
        for (int i = 0; i < n; i++) {
            float v = (float) (rnd.nextDouble() * 2 - 1);
            switch (dtype) {
                case FLOAT16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                        Float.floatToFloat16(v));
                case BFLOAT16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                        (short) (Float.floatToRawIntBits(v) >>> 16));
                case FLOAT32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v);
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor(name, dtype, shape, seg);
    }
}
