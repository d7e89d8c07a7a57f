package io.github.magmajava.bench;

import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.clip.onednn.Bf16Matmul;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A 160-row prefill GEMM through a full-size fp16 weight, three ways in one run:
 * {@code nd4j-fp32} and {@code nd4j-bf16} are the CPU backend's Linear with oneDNN 2.3 (nd4j) in
 * {@link OneDnnMode#FP32} / {@link OneDnnMode#BF16} (the fp16 weight is converted chunk by chunk
 * and reordered on every call); {@code onednn3-bf16} is {@link Bf16Matmul}, the weight rounded to
 * bf16 and reordered into the matmul's layout once, per call only x -> bf16 and the matmul
 * (float32 out); {@code onednn3-bf16-plain} the same with the weight plain bf16 [out, in] (as a
 * file could hold it for both decode and prefill), which the matmul packs per call;
 * {@code onednn3-bf16-ip} an inner product on a
 * weight reordered once; {@code onednn3-bf16-gemm} the matmul on oneDNN's older gemm:jit:bf16
 * kernel (plain weight). GFLOP/s = 2 * 160 * out * in / time.
 */
@State(Scope.Benchmark)
public class Dnnl3GemmBenchmark extends BenchmarkSettings {
    @Param({"ATTENTION", "MLP_UP"})
    public LinearShape shape;

    @Param({"nd4j-fp32", "nd4j-bf16", "onednn3-bf16", "onednn3-bf16-plain", "onednn3-bf16-ip", "onednn3-bf16-gemm"})
    public String variant;

    @Param({"2"})
    public int threads;

    private RandomWeights weights;
    private CpuBackend backend;
    private Linear linear;
    private Bf16Matmul matmul;
    private float[] x;
    private float[] y;

    @Setup
    public void setUp() {
        weights = new RandomWeights(2);
        var weight = weights.fp16("weight", 0.02, shape.out, shape.in);
        backend = CpuBackend.withThreads(threads, variant.equals("nd4j-bf16") ? OneDnnMode.BF16 : OneDnnMode.FP32);
        if (variant.startsWith("onednn3-bf16")) {
            Bf16Matmul.Kind kind = switch (variant) {
                case "onednn3-bf16-plain" -> Bf16Matmul.Kind.MATMUL_PLAIN;
                case "onednn3-bf16-ip" -> Bf16Matmul.Kind.INNER_PRODUCT;
                case "onednn3-bf16-gemm" -> Bf16Matmul.Kind.MATMUL_GEMM_JIT;
                default -> Bf16Matmul.Kind.MATMUL_BLOCKED;
            };
            matmul = Bf16Matmul.create(weight, GemmBenchmark.ROWS, threads, kind)
                    .orElseThrow(() -> new IllegalStateException("oneDNN 3 does not load"));
            System.out.println("oneDNN 3 implementation: " + matmul.implementation());
        } else {
            linear = backend.linear(weight, null, Split.REPLICATED);
        }
        x = weights.activations(GemmBenchmark.ROWS * shape.in);
        y = new float[GemmBenchmark.ROWS * shape.out];
    }

    @TearDown
    public void tearDown() {
        if (matmul != null) {
            matmul.close();
        }
        backend.close();
        weights.close();
    }

    @Benchmark
    public float[] gemm() {
        if (matmul != null) {
            matmul.forward(x, y);
        } else {
            linear.forward(x, GemmBenchmark.ROWS, y);
        }
        return y;
    }
}
