package io.github.magmajava.bench;

import io.github.magmajava.backend.KeyValues;
import io.github.magmajava.backend.cpu.CpuBackend;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** {@code Backend.attention} at GPT-J's 16 heads x 256 against a KV cache of one layer. */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AttentionBenchmark extends BenchmarkSettings {
    static final int HEADS = 16;
    static final int HEAD_DIM = 256;

    @Param
    public AttentionCase attention;

    @Param({"1", "2"})
    public int threads;

    private CpuBackend backend;
    private float[] q;
    private float[] keys;
    private float[] values;
    private float[] out;

    @Setup
    public void setUp() {
        try (RandomWeights random = new RandomWeights(4)) {
            int d = HEADS * HEAD_DIM;
            backend = CpuBackend.withThreads(threads);
            q = random.activations(attention.rows * d);
            keys = random.activations(attention.positions() * d);
            values = random.activations(attention.positions() * d);
            out = new float[attention.rows * d];
        }
    }

    @TearDown
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public float[] attention() {
        backend.attention(q, KeyValues.of(keys, values), attention.rows, attention.startPos, HEADS, HEAD_DIM, out);
        return out;
    }
}
