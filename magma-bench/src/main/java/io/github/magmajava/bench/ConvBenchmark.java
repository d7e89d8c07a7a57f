package io.github.magmajava.bench;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One RN50x16 convolution (BatchNorm folded, fp32 weights, with bias) on a random map of its real
 * size: im2col plus the panel GEMM. GFLOP/s = 2 * macs / time.
 */
@State(Scope.Benchmark)
public class ConvBenchmark extends BenchmarkSettings {
    @Param
    public ConvShape shape;

    @Param({"1", "2"})
    public int threads;

    private CpuBackend backend;
    private Conv2d conv;
    private float[] x;
    private float[] y;

    @Setup
    public void setUp() {
        try (RandomWeights random = new RandomWeights(3)) {
            int depth = shape.in * shape.kernel * shape.kernel;
            backend = CpuBackend.withThreads(threads);
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

    @Benchmark
    public float[] conv() {
        conv.forward(x, shape.size, shape.size, y);
        return y;
    }
}
