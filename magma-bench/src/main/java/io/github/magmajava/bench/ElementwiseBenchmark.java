package io.github.magmajava.bench;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The row-wise kernels of a GPT-J block at d = 4096 on 1 (decode) or 160 (prefill) rows: ln_1,
 * RoPE on q (16 heads of 256, rotary 64) and gelu_new on the MLP's 16384 inner units. These run
 * on the calling thread in both backends, so the parameter is the backend, not a thread count.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ElementwiseBenchmark extends BenchmarkSettings {
    static final int D = 4096;
    static final int MLP = 4 * D;

    @Param({"cpu", "reference"})
    public String backend;

    @Param({"1", "160"})
    public int rows;

    private Backend impl;
    private float[] x;
    private float[] normed;
    private float[] gamma;
    private float[] beta;
    private float[] q;
    private float[] inner;
    private float[] innerSource;

    @Setup
    public void setUp() {
        impl = switch (backend) {
            case "cpu" -> CpuBackend.withThreads(1);
            case "reference" -> new ReferenceBackend();
            default -> throw new IllegalArgumentException("backend must be cpu or reference, found " + backend);
        };
        try (RandomWeights random = new RandomWeights(5)) {
            x = random.activations(rows * D);
            normed = new float[rows * D];
            gamma = new float[D];
            Arrays.fill(gamma, 1f);
            beta = new float[D];
            q = random.activations(rows * D);
            innerSource = random.activations(rows * MLP);
            inner = innerSource.clone();
        }
    }

    @TearDown
    public void tearDown() {
        impl.close();
    }

    @Benchmark
    public float[] layerNorm() {
        impl.layerNorm(x, rows, D, gamma, beta, 1e-5f, normed);
        return normed;
    }

    /** In place (the rotation keeps norms, so repeating it never drifts); one row sits at position 160, as in decode. */
    @Benchmark
    public float[] rope() {
        impl.rope(q, rows, 16, 256, 64, 10000, rows == 1 ? 160 : 0);
        return q;
    }

    /** Each call restarts from the same inputs: gelu applied to its own output would shrink them toward 0. */
    @Benchmark
    public float[] gelu() {
        System.arraycopy(innerSource, 0, inner, 0, inner.length);
        impl.gelu(inner, inner.length);
        return inner;
    }
}
