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
 * A 160-row prefill (144 image tokens and a 16-token prompt) through a full-size fp16 weight: the
 * panel path of the CPU GEMM, bound by arithmetic (GFLOP/s = 2 * rows * out * in / time).
 */
@State(Scope.Benchmark)
public class GemmBenchmark extends BenchmarkSettings {
    public static final int ROWS = 160;

    @Param({"ATTENTION", "MLP_UP", "MLP_DOWN"})
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
        weights = new RandomWeights(2);
        backend = CpuBackend.withThreads(threads);
        linear = backend.linear(weights.fp16("weight", 0.02, shape.out, shape.in), null, Split.REPLICATED);
        x = weights.activations(ROWS * shape.in);
        y = new float[ROWS * shape.out];
    }

    @TearDown
    public void tearDown() {
        backend.close();
        weights.close();
    }

    @Benchmark
    public float[] gemm() {
        linear.forward(x, ROWS, y);
        return y;
    }
}
