package io.github.magmajava.bench;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.config.MagmaConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The compute-bound work oneDNN does, on whichever nd4j oneDNN build this JVM loaded: the 160-row
 * prefill GEMMs (fp16 weights, conversion included), some RN50x16 convolutions, and the whole
 * image prefix (all 127 convolutions plus the projection). A JVM loads one libnd4jcpu, so builds
 * are compared one JVM each, chosen with {@code -Dmagma.onednn.build=onednn-avx512|onednn-avx2|onednn}
 * ({@code -Dmagma.onednn=off}: the pure-Java kernels); tools/bench/onednn-builds.sh runs them all.
 * Setup prints the build in use and fails when it is not the one asked for, so no number can be
 * filed under the wrong build.
 */
public class OneDnnBuildBenchmark extends BenchmarkSettings {
    /** Rows of a prefill: 144 image tokens and a 16-token prompt. */
    static final int ROWS = 160;

    /** A backend of {@code threads} workers, checked against what the JVM was asked to load. */
    static CpuBackend backend(int threads) {
        CpuBackend backend = CpuBackend.withThreads(threads);
        String build = backend.oneDnnBuild().orElse("none (pure Java)");
        System.out.println("# oneDNN " + backend.oneDnnMode() + ", nd4j build " + build + ", " + threads + " threads");
        String requested = System.getProperty("magma.onednn.build", "auto").strip();
        if (OneDnnMode.configured() != OneDnnMode.OFF && backend.oneDnnMode() == OneDnnMode.OFF) {
            backend.close();
            throw new IllegalStateException("oneDNN did not load (see the log line above); -Dmagma.onednn=off measures pure Java");
        }
        if (backend.oneDnnMode() != OneDnnMode.OFF && !requested.equals("auto") && !build.endsWith("-" + requested)) {
            backend.close();
            throw new IllegalStateException("asked for nd4j build " + requested + ", loaded " + build);
        }
        return backend;
    }

    @State(Scope.Benchmark)
    public static class Gemm {
        @Param({"ATTENTION", "MLP_UP", "MLP_DOWN"})
        public LinearShape shape;

        @Param({"2"})
        public int threads;

        RandomWeights weights;
        CpuBackend backend;
        Linear linear;
        float[] x;
        float[] y;

        @Setup
        public void setUp() {
            weights = new RandomWeights(2);
            backend = backend(threads);
            linear = backend.linear(weights.fp16("weight", 0.02, shape.out, shape.in), null, Split.REPLICATED);
            x = weights.activations(ROWS * shape.in);
            y = new float[ROWS * shape.out];
        }

        @TearDown
        public void tearDown() {
            backend.close();
            weights.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Conv {
        @Param({"STEM2", "LAYER1_3X3", "LAYER3_3X3", "LAYER4_1X1_OUT"})
        public ConvShape shape;

        @Param({"2"})
        public int threads;

        CpuBackend backend;
        Conv2d conv;
        float[] x;
        float[] y;

        @Setup
        public void setUp() {
            try (RandomWeights random = new RandomWeights(3)) {
                int depth = shape.in * shape.kernel * shape.kernel;
                backend = backend(threads);
                conv = backend.conv2d("conv", random.heWeights(shape.out * depth, depth), random.activations(shape.out),
                        shape.in, shape.out, shape.kernel, shape.stride, shape.padding());
                x = random.activations(shape.in * shape.size * shape.size);
                y = new float[shape.out * shape.outSize() * shape.outSize()];
            }
        }

        @TearDown
        public void tearDown() {
            backend.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Encoder {
        @Param({"2"})
        public int threads;

        RandomWeights weights;
        CpuBackend backend;
        ImagePrefix prefix;
        float[] image;

        @Setup
        public void setUp() {
            MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
            weights = new RandomWeights(6);
            backend = backend(threads);
            prefix = ImagePrefix.load(weights.imagePrefix(config), config, backend);
            int s = config.visual().imageResolution();
            image = weights.activations(3 * s * s);
        }

        @TearDown
        public void tearDown() {
            backend.close();
            weights.close();
        }
    }

    @Benchmark
    public float[] gemm(Gemm s) {
        s.linear.forward(s.x, ROWS, s.y);
        return s.y;
    }

    @Benchmark
    public float[] conv(Conv s) {
        s.conv.forward(s.x, s.shape.size, s.shape.size, s.y);
        return s.y;
    }

    @Benchmark
    public float[] imagePrefix(Encoder s) {
        return s.prefix.encode(s.image);
    }
}
