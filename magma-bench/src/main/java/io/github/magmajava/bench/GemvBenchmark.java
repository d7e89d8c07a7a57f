package io.github.magmajava.bench;

import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One decode row through a full-size fp16 weight: the streaming path of the CPU GEMM, bound by
 * how fast the weights can be read (GB/s = 2 * out * in bytes / time; compare
 * {@link MemoryBandwidth}).
 */
@State(Scope.Benchmark)
public class GemvBenchmark extends BenchmarkSettings {
    @Param({"ATTENTION", "MLP_UP", "MLP_DOWN", "LM_HEAD"})
    public LinearShape shape;

    @Param({"1", "2"})
    public int threads;

    private RandomWeights weights;
    private CpuBackend backend;
    private Linear linear;
    private float[] x;
    private float[] y;

    @Setup
    public void setUp() {
        weights = new RandomWeights(1);
        backend = CpuBackend.withThreads(threads);
        linear = backend.linear(weights.fp16("weight", 0.02, shape.out, shape.in), null, Split.REPLICATED);
        x = weights.activations(shape.in);
        y = new float[shape.out];
    }

    @TearDown
    public void tearDown() {
        backend.close();
        weights.close();
    }

    @Benchmark
    public float[] gemv() {
        linear.forward(x, 1, y);
        return y;
    }
}
