package io.github.magmajava.bench;

import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One decode row through a full-size weight, fp16 as mapped or int8 blocks ({@code --weights q8}):
 * the streaming path of the CPU GEMM, bound by how fast the weights can be read. Each invocation
 * takes the next of several copies of the weight, at least 256 MB in all, so that the weights
 * come from memory as in a real decode step, not from the last-level cache. Weight GB/s =
 * bytes of one copy / time (fp16: 2 * out * in; q8: out * in plus the scales); compare
 * {@link MemoryBandwidth}. With {@code -p rows=1,2,4,8}: a batched decode step of that many
 * generations, each row bit-identical to its own step alone.
 */
@State(Scope.Benchmark)
public class GemvBenchmark extends BenchmarkSettings {
    private static final long MIN_TOTAL_BYTES = 256L << 20;

    @Param({"ATTENTION", "MLP_UP", "MLP_DOWN", "LM_HEAD"})
    public LinearShape shape;

    @Param({"1", "2"})
    public int threads;

    @Param({"fp16", "q8"})
    public String weights;

    /** Decode rows per call: 1, or a batch of generations sharing the step (continuous batching, up to 8). */
    @Param({"1"})
    public int rows;

    private RandomWeights random;
    private Q8Weights quantized;
    private CpuBackend backend;
    private Linear[] linears;
    private int next;
    private float[] x;
    private float[] y;

    @Setup
    public void setUp() {
        random = new RandomWeights(1);
        long bytes = 2L * shape.out * shape.in;
        int copies = (int) Math.max(1, (MIN_TOTAL_BYTES + bytes - 1) / bytes);
        List<Tensor> tensors = new ArrayList<>();
        for (int i = 0; i < copies; i++) {
            tensors.add(random.fp16("weight" + i, 0.02, shape.out, shape.in));
        }
        CpuBackend.Builder builder = CpuBackend.builder().threads(threads);
        switch (weights) {
            case "fp16" -> { }
            case "q8" -> {
                List<Q8Tensor> q = tensors.stream().map(Q8Quantizer::quantize).toList();
                quantized = Q8Weights.of(q);
                builder.quantized(quantized);
            }
            default -> throw new IllegalArgumentException("weights must be fp16 or q8, found " + weights);
        }
        backend = builder.build();
        linears = tensors.stream().map(t -> backend.linear(t, null, Split.REPLICATED)).toArray(Linear[]::new);
        x = random.activations(rows * shape.in);
        y = new float[rows * shape.out];
    }

    @TearDown
    public void tearDown() {
        backend.close();
        if (quantized != null) {
            quantized.close();
        }
        random.close();
    }

    @Benchmark
    public float[] gemv() {
        Linear linear = linears[next];
        next = (next + 1) % linears.length;
        linear.forward(x, rows, y);
        return y;
    }
}
