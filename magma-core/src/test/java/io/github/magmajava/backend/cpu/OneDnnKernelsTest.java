package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The oneDNN (nd4j) kernels against {@link ReferenceBackend}, in the style of
 * BackendConformanceTest: float32 mode within 2e-5 of the output scale (only the summation order
 * differs), bfloat16 mode within its rounding error; plus loading, fallback, concurrency and
 * lifetime. Tests of the native path are skipped where no nd4j oneDNN build can run; on a
 * machine where one can, {@link #runtimeLoadsWhereABuildFitsTheCpu} makes its absence a failure.
 */
@Tag("vector-width")
class OneDnnKernelsTest {
    private static final Backend REFERENCE = new ReferenceBackend();
    /** oneDNN from 5 rows, as bf16, so that small shapes test it (by default fp32 starts at FP32_MIN_ROWS). */
    private static final CpuBackend FP32 = CpuBackend.builder().threads(2).oneDnn(OneDnnMode.FP32)
            .oneDnnMinRows(Nd4jLinear.MIN_ROWS).build();
    private static final CpuBackend BF16 = CpuBackend.withThreads(2, OneDnnMode.BF16);
    private static final CpuBackend JAVA = CpuBackend.withThreads(2, OneDnnMode.OFF);

    private static void assumeOneDnn() {
        assumeTrue(FP32.oneDnnMode() == OneDnnMode.FP32, "nd4j's oneDNN build cannot run on this machine");
    }

    @AfterAll
    static void close() {
        FP32.close();
        BF16.close();
        JAVA.close();
    }

    @Test
    void runtimeLoadsWhereABuildFitsTheCpu() {
        String platform = Nd4jBuild.platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        String requested = System.getProperty(Nd4jBuild.PROPERTY, System.getProperty(Nd4jBuild.JAVACPP_EXTENSION));
        Nd4jBuild.Choice choice = Nd4jBuild.choose(platform, Nd4jRuntime.cpuFlags(), requested, Nd4jBuild.PROPERTY,
                classifier -> getClass().getClassLoader().getResource("org/nd4j/linalg/cpu/nativecpu/bindings/" + classifier + "/"
                        + System.mapLibraryName("jnind4jcpu")) != null);
        assertThat(JAVA.oneDnnMode()).isEqualTo(OneDnnMode.OFF);
        assertThat(JAVA.oneDnnBuild()).isEmpty();
        if (choice instanceof Nd4jBuild.Load load) {
            Nd4jRuntime runtime = Nd4jRuntime.get().orElseThrow(() -> new AssertionError("a build fits (" + load.classifier() + ") but none loaded"));
            assertThat(runtime.buildInfo()).contains("HAVE_ONEDNN");
            assertThat(runtime.classifier()).isEqualTo(load.classifier());
            assertThat(FP32.oneDnnBuild()).contains(load.classifier());
            assertThat(BF16.oneDnnMode()).as("bf16 where oneDNN has it, else fp32")
                    .isEqualTo(runtime.supportsBf16() ? OneDnnMode.BF16 : OneDnnMode.FP32);
            // (DNNL_MAX_CPU_ISA=AVX2 makes oneDNN act as on an AVX2 CPU: how docs/nd4j.md tests that case here)
            if (Nd4jRuntime.cpuFlags().containsAll(List.of("avx512f", "avx512bw", "avx512vl")) && System.getenv("DNNL_MAX_CPU_ISA") == null) {
                assertThat(runtime.supportsBf16()).as("oneDNN 2.3 has bf16 matmuls on AVX-512").isTrue();
            }
        } else {
            assertThat(Nd4jRuntime.get()).as("refused: " + choice).isEmpty();
            assertThat(FP32.oneDnnMode()).as("falls back instead of failing").isEqualTo(OneDnnMode.OFF);
        }
    }

    @Test
    void modeComesFromTheSystemProperty() {
        String before = System.getProperty(OneDnnMode.PROPERTY);
        try {
            System.clearProperty(OneDnnMode.PROPERTY);
            assertThat(OneDnnMode.configured()).isEqualTo(OneDnnMode.FP32);
            System.setProperty(OneDnnMode.PROPERTY, " Off ");
            assertThat(OneDnnMode.configured()).isEqualTo(OneDnnMode.OFF);
            System.setProperty(OneDnnMode.PROPERTY, "int8");
            assertThatThrownBy(OneDnnMode::configured).hasMessageContaining(OneDnnMode.PROPERTY).hasMessageContaining("int8");
        } finally {
            if (before == null) {
                System.clearProperty(OneDnnMode.PROPERTY);
            } else {
                System.setProperty(OneDnnMode.PROPERTY, before);
            }
        }
    }

    /** The same cases on oneDNN FP32 and on the pure-Java kernels (which the default backend no longer uses for them). */
    static Stream<Arguments> linearCases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (OneDnnMode mode : new OneDnnMode[] {OneDnnMode.FP32, OneDnnMode.OFF}) {
            for (DType dtype : new DType[] {DType.FLOAT16, DType.BFLOAT16, DType.FLOAT32}) {
                // rows, in, out: oneDNN from 5 rows; in not a multiple of 16 exercises the conversion tails
                for (int[] mkn : new int[][] {{5, 16, 16}, {7, 37, 20}, {33, 300, 129}, {160, 64, 48}, {6, 40, 1}}) {
                    cases.add(Arguments.of(mode, dtype, mkn[0], mkn[1], mkn[2], true));
                }
                cases.add(Arguments.of(mode, dtype, 9, 70, 35, false));
            }
        }
        return cases.build();
    }

    private static CpuBackend backend(OneDnnMode mode) {
        if (mode == OneDnnMode.OFF) {
            return JAVA;
        }
        assumeOneDnn();
        return FP32;
    }

    @ParameterizedTest(name = "{0} {1} m={2} k={3} n={4} bias={5}")
    @MethodSource("linearCases")
    void linearMatchesReference(OneDnnMode mode, DType dtype, int m, int k, int n, boolean withBias) {
        CpuBackend backend = backend(mode);
        SplittableRandom rnd = new SplittableRandom(m * 31L + k * 7L + n);
        Tensor w = tensor("w", dtype, rnd, n, k);
        Tensor b = withBias ? tensor("b", dtype, rnd, n) : null;
        float[] x = random(rnd, m * k);
        float[] expected = new float[m * n];
        float[] actual = new float[m * n];
        REFERENCE.linear(w, b, Split.REPLICATED).forward(x, m, expected);
        backend.linear(w, b, Split.REPLICATED).forward(x, m, actual);
        assertClose(actual, expected, 2e-5);
    }

    @Test
    void weightChunksCoverEveryOutputColumn() throws Exception {
        assumeOneDnn();
        SplittableRandom rnd = new SplittableRandom(4);
        int m = 12, k = 50, n = 83;
        Tensor w = tensor("w", DType.FLOAT16, rnd, n, k);
        float[] bias = random(rnd, n);
        float[] x = random(rnd, m * k);
        float[] expected = new float[m * n];
        REFERENCE.linear(w, new Tensor("b", DType.FLOAT32, new long[] {n}, floats(bias)), Split.REPLICATED).forward(x, m, expected);
        ForkJoinPool pool = new ForkJoinPool(2);
        try (Nd4jKernels kernels = Nd4jKernels.open(OneDnnMode.FP32, pool, null, Nd4jLinear.MIN_ROWS).orElseThrow()) {
            for (long chunkBytes : new long[] {1, 10 * k * 4, 16 * k * 4, 1L << 20}) { // 1, 10 and 16 rows per chunk, then all
                float[] actual = new float[m * n];
                new Nd4jLinear(WeightMatrix.of(w), bias, kernels, chunkBytes).forward(x, m, actual);
                assertClose(actual, expected, 2e-5);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void bf16LinearHasBfloat16Error() {
        assumeOneDnn();
        assumeTrue(BF16.oneDnnMode() == OneDnnMode.BF16, "oneDNN has no bfloat16 matmul on this CPU (no AVX-512)");
        SplittableRandom rnd = new SplittableRandom(8);
        int m = 40, k = 256, n = 96;
        Tensor w = tensor("w", DType.FLOAT16, rnd, n, k);
        float[] x = random(rnd, m * k);
        float[] expected = new float[m * n];
        float[] actual = new float[m * n];
        REFERENCE.linear(w, null, Split.REPLICATED).forward(x, m, expected);
        BF16.linear(w, null, Split.REPLICATED).forward(x, m, actual);
        double error = maxError(actual, expected);
        // bfloat16 keeps 8 significant bits: inputs and outputs each rounded by up to 2^-9 relative
        assertThat(error).as("bf16 error relative to the output scale").isLessThan(1e-2).isGreaterThan(1e-5);
    }

    @Test
    void float32RunsShortPrefillsOnThePureJavaKernelBitForBit() {
        assumeOneDnn();
        SplittableRandom rnd = new SplittableRandom(5);
        Tensor w = tensor("w", DType.FLOAT16, rnd, 24, 40);
        try (CpuBackend fp32 = CpuBackend.withThreads(2, OneDnnMode.FP32)) {
            for (int rows : new int[] {Nd4jLinear.MIN_ROWS, 16, Nd4jLinear.FP32_MIN_ROWS - 1}) {
                float[] x = random(rnd, rows * 40);
                float[] java = new float[rows * 24];
                float[] hybrid = new float[rows * 24];
                JAVA.linear(w, null, Split.REPLICATED).forward(x, rows, java);
                fp32.linear(w, null, Split.REPLICATED).forward(x, rows, hybrid);
                assertThat(hybrid).as("%d rows", rows).containsExactly(java);
            }
            // from FP32_MIN_ROWS on, oneDNN: the same values to float rounding, not bit for bit
            int rows = Nd4jLinear.FP32_MIN_ROWS;
            float[] x = random(rnd, rows * 40);
            float[] java = new float[rows * 24];
            float[] hybrid = new float[rows * 24];
            JAVA.linear(w, null, Split.REPLICATED).forward(x, rows, java);
            fp32.linear(w, null, Split.REPLICATED).forward(x, rows, hybrid);
            assertClose(hybrid, java, 2e-5);
            assertThat(hybrid).isNotEqualTo(java);
        }
    }

    @Test
    void fewRowsStayOnThePureJavaKernelBitForBit() {
        SplittableRandom rnd = new SplittableRandom(2);
        Tensor w = tensor("w", DType.FLOAT16, rnd, 64, 96);
        Tensor b = tensor("b", DType.FLOAT16, rnd, 64);
        for (int rows = 1; rows < Nd4jLinear.MIN_ROWS; rows++) {
            float[] x = random(rnd, rows * 96);
            float[] java = new float[rows * 64];
            float[] hybrid = new float[rows * 64];
            JAVA.linear(w, b, Split.REPLICATED).forward(x, rows, java);
            BF16.linear(w, b, Split.REPLICATED).forward(x, rows, hybrid);
            assertThat(hybrid).as("%d rows", rows).containsExactly(java);
        }
    }

    static Stream<Arguments> convCases() {
        // in, out, kernel, stride, padding, h, w
        Stream<int[]> geometries = Stream.of(new int[] {3, 8, 3, 2, 1, 17, 16}, new int[] {8, 8, 3, 1, 1, 9, 11},
                new int[] {8, 32, 1, 1, 0, 6, 6}, new int[] {5, 3, 1, 1, 0, 4, 5}, new int[] {20, 17, 3, 1, 1, 12, 12},
                new int[] {3, 12, 3, 2, 1, 24, 24}, new int[] {16, 24, 1, 1, 0, 7, 3}, new int[] {4, 6, 5, 2, 2, 11, 13},
                new int[] {6, 5, 3, 1, 0, 3, 3});
        return geometries.flatMap(g -> Stream.of(Arguments.of(OneDnnMode.FP32, g), Arguments.of(OneDnnMode.OFF, g)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("convCases")
    void convMatchesReference(OneDnnMode mode, int[] g) {
        CpuBackend backend = backend(mode);
        int in = g[0], out = g[1], k = g[2], stride = g[3], pad = g[4], h = g[5], w = g[6];
        SplittableRandom rnd = new SplittableRandom(in * 13L + out + k);
        float[] weight = random(rnd, out * in * k * k);
        float[] bias = random(rnd, out);
        float[] x = random(rnd, in * h * w);
        Conv2d ref = REFERENCE.conv2d("conv", weight, bias, in, out, k, stride, pad);
        Conv2d fast = backend.conv2d("conv", weight, bias, in, out, k, stride, pad);
        assertThat(fast).isInstanceOf(mode == OneDnnMode.OFF ? Im2colConv.class : Nd4jConv.class);
        int oh = ref.outSize(h), ow = ref.outSize(w);
        assertThat(fast.outSize(h)).isEqualTo(oh);
        float[] expected = new float[out * oh * ow];
        float[] actual = new float[out * oh * ow];
        ref.forward(x, h, w, expected);
        fast.forward(x, h, w, actual);
        assertClose(actual, expected, 2e-5);
    }

    @Test
    void convRejectsBadGeometryAndBuffers() {
        assumeOneDnn();
        assertThatThrownBy(() -> FP32.conv2d("conv", new float[10], new float[2], 1, 2, 3, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight has 10 values, expected 18");
        Conv2d conv = FP32.conv2d("conv", new float[2 * 3 * 9], new float[2], 3, 2, 3, 1, 0);
        assertThatThrownBy(() -> conv.forward(new float[3 * 2 * 2], 2, 2, new float[8]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("smaller than kernel 3");
        assertThatThrownBy(() -> conv.forward(new float[3 * 5 * 5 - 1], 5, 5, new float[2 * 9]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("buffers too small");
        Linear linear = FP32.linear(tensor("w", DType.FLOAT16, new SplittableRandom(1), 4, 8), null, Split.REPLICATED);
        assertThatThrownBy(() -> linear.forward(new float[8 * 8], 8, new float[8 * 4 - 1]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 rows");
    }

    /** Concurrent requests share one backend: every thread must get the single-threaded result, bit for bit. */
    @Test
    @Timeout(60)
    void concurrentCallsGiveTheSequentialResults() throws Exception {
        assumeOneDnn();
        SplittableRandom rnd = new SplittableRandom(6);
        Linear linear = FP32.linear(tensor("w", DType.FLOAT16, rnd, 72, 130), tensor("b", DType.FLOAT16, rnd, 72), Split.REPLICATED);
        Conv2d conv = FP32.conv2d("conv", random(rnd, 16 * 8 * 9), random(rnd, 16), 8, 16, 3, 1, 1);
        List<float[]> inputs = new ArrayList<>();
        List<float[]> expectedLinear = new ArrayList<>();
        List<float[]> expectedConv = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            float[] x = random(rnd, 11 * 130);
            float[] image = random(rnd, 8 * 10 * 10);
            inputs.add(x);
            inputs.add(image);
            float[] y = new float[11 * 72];
            linear.forward(x, 11, y);
            expectedLinear.add(y);
            float[] c = new float[16 * 100];
            conv.forward(image, 10, 10, c);
            expectedConv.add(c);
        }
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int i = t;
                results.add(threads.submit(() -> {
                    boolean same = true;
                    for (int rep = 0; rep < 25; rep++) {
                        float[] y = new float[11 * 72];
                        linear.forward(inputs.get(2 * i), 11, y);
                        float[] c = new float[16 * 100];
                        conv.forward(inputs.get(2 * i + 1), 10, 10, c);
                        same &= java.util.Arrays.equals(y, expectedLinear.get(i)) && java.util.Arrays.equals(c, expectedConv.get(i));
                    }
                    return same;
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        } finally {
            threads.shutdown();
        }
    }

    @Test
    void closedBackendRefusesNativeCallsInsteadOfCrashing() {
        assumeOneDnn();
        CpuBackend backend = CpuBackend.builder().threads(1).oneDnn(OneDnnMode.FP32).oneDnnMinRows(Nd4jLinear.MIN_ROWS).build();
        SplittableRandom rnd = new SplittableRandom(3);
        Linear linear = backend.linear(tensor("w", DType.FLOAT16, rnd, 8, 16), null, Split.REPLICATED);
        Conv2d conv = backend.conv2d("conv", random(rnd, 4 * 2 * 9), random(rnd, 4), 2, 4, 3, 1, 1);
        int rows = Nd4jLinear.MIN_ROWS;
        float[] y = new float[rows * 8];
        linear.forward(random(rnd, rows * 16), rows, y);
        backend.close();
        assertThatThrownBy(() -> linear.forward(new float[rows * 16], rows, new float[rows * 8]))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> conv.forward(new float[2 * 5 * 5], 5, 5, new float[4 * 25]))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(Nd4jLinear.bfloat16(1.0f)).isEqualTo((short) 0x3f80);
        assertThat(Nd4jLinear.bfloat16(Float.intBitsToFloat(0x3f808000))).as("tie to even (down)").isEqualTo((short) 0x3f80);
        assertThat(Nd4jLinear.bfloat16(Float.intBitsToFloat(0x3f818000))).as("tie to even (up)").isEqualTo((short) 0x3f82);
        assertThat(Nd4jLinear.bfloat16(Float.intBitsToFloat(0x3f808001))).as("above the tie").isEqualTo((short) 0x3f81);
        assertThat(Nd4jLinear.bfloat16(-2.5f)).isEqualTo((short) 0xc020);
        assertThat(Nd4jLinear.bfloat16(Float.NaN)).isEqualTo((short) 0x7fc0);
        assertThat(Nd4jLinear.bfloat16(Float.intBitsToFloat(0x7fffffff))).as("a NaN whose rounding would carry").isEqualTo((short) 0x7fc0);
        assertThat(Nd4jLinear.bfloat16(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7f80);
    }

    private static double maxError(float[] actual, float[] expected) {
        double scale = 1e-6;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        return worst / scale;
    }

    private static void assertClose(float[] actual, float[] expected, double relative) {
        assertThat(maxError(actual, expected)).as("max error relative to the output scale").isLessThanOrEqualTo(relative);
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static MemorySegment floats(float[] values) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, values[i]);
        }
        return seg;
    }

    private static Tensor tensor(String name, DType dtype, SplittableRandom rnd, long... shape) {
        int n = (int) Tensor.numel(shape);
        MemorySegment seg = MemorySegment.ofArray(new byte[n * dtype.byteSize()]);
        ValueLayout.OfShort le16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float v = (float) (rnd.nextDouble() * 2 - 1);
            switch (dtype) {
                case FLOAT16 -> seg.setAtIndex(le16, i, Float.floatToFloat16(v));
                case BFLOAT16 -> seg.setAtIndex(le16, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                case FLOAT32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v);
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor(name, dtype, shape, seg);
    }
}
