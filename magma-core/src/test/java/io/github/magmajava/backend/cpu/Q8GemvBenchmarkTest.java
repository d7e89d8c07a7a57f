package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Decode GEMV (one row) at GPT-J's shapes, fp16 against q8, repetitions alternating: prints the
 * median and best time and GB/s of weights read, and the GEMV time of one decoded token; asserts
 * only that both agree. Several copies of each shape (about 1.7 GB of fp16 in
 * all) so that the weights stream from memory, not from the caches. Tagged long: run with
 * {@code tools/mvn -Plong-tests -pl magma-core test -Dtest=Q8GemvBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dmagma.bench.threads=N} to pin the thread count).
 */
@Tag("long")
class Q8GemvBenchmarkTest {
    private static final int REPS = 21;
    /** How often each shape occurs per decoded token: 28 blocks x (q, k, v, out), c_fc, c_proj, adapter down, up; lm_head. */
    private static final int[] MODEL_COUNTS = {28 * 4, 28, 28, 28, 28, 1};
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void decodeGemvFp16AgainstQ8() {
        int threads = Integer.getInteger("magma.bench.threads", Runtime.getRuntime().availableProcessors());
        // [out, in] of q/k/v/out_proj, c_fc, c_proj, adapter down, lm_head; copies to exceed the caches.
        int[][] shapes = {{4096, 4096, 8}, {16384, 4096, 3}, {4096, 16384, 3}, {1024, 4096, 8}, {4096, 1024, 8}, {50400, 4096, 1}};
        double fp16Total = 0;
        double q8Total = 0;
        try (Arena arena = Arena.ofShared();
                CpuBackend fp16 = CpuBackend.builder().threads(threads).build()) {
            for (int shapeIndex = 0; shapeIndex < shapes.length; shapeIndex++) {
                int[] s = shapes[shapeIndex];
                int out = s[0];
                int in = s[1];
                List<Tensor> weights = new ArrayList<>();
                List<Q8Tensor> quantized = new ArrayList<>();
                for (int copy = 0; copy < s[2]; copy++) {
                    Tensor w = random(arena, "w" + copy, out, in, copy);
                    weights.add(w);
                    quantized.add(Q8Quantizer.quantize(w));
                }
                try (CpuBackend q8 = CpuBackend.builder().threads(threads).quantized(Q8Weights.of(quantized)).build()) {
                    float[] x = new float[in];
                    SplittableRandom rnd = new SplittableRandom(1);
                    for (int i = 0; i < in; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    List<Linear> fp16Linears = weights.stream().map(w -> fp16.linear(w, null, Split.REPLICATED)).toList();
                    List<Linear> q8Linears = weights.stream().map(w -> q8.linear(w, null, Split.REPLICATED)).toList();
                    // Alternating repetitions, so that both formats see the same load of a shared machine.
                    double[] fp16Seconds = new double[REPS];
                    double[] q8Seconds = new double[REPS];
                    for (int rep = 0; rep < REPS; rep++) {
                        fp16Seconds[rep] = time(fp16Linears, x, out);
                        q8Seconds[rep] = time(q8Linears, x, out);
                    }
                    long n = (long) out * in;
                    double q8Bytes = n + (double) out * Q8Quantizer.blocks(in) * 2;
                    double fp16Median = median(fp16Seconds);
                    double q8Median = median(q8Seconds);
                    double fp16Best = Arrays.stream(fp16Seconds).min().orElseThrow();
                    double q8Best = Arrays.stream(q8Seconds).min().orElseThrow();
                    System.out.printf("GEMV [%d, %d] x%d, %d threads, median (best): fp16 %.2f ms (%.2f), %.1f GB/s (%.1f);"
                                    + " q8 %.2f ms (%.2f), %.1f GB/s (%.1f); q8 %.2fx (%.2fx) faster%n", out, in, s[2], threads,
                            fp16Median * 1e3, fp16Best * 1e3, n * 2 / fp16Median / 1e9, n * 2 / fp16Best / 1e9,
                            q8Median * 1e3, q8Best * 1e3, q8Bytes / q8Median / 1e9, q8Bytes / q8Best / 1e9,
                            fp16Median / q8Median, fp16Best / q8Best);
                    fp16Total += fp16Median * MODEL_COUNTS[shapeIndex];
                    q8Total += q8Median * MODEL_COUNTS[shapeIndex];

                    float[] a = new float[out];
                    float[] b = new float[out];
                    fp16.linear(weights.getFirst(), null, Split.REPLICATED).forward(x, 1, a);
                    q8.linear(weights.getFirst(), null, Split.REPLICATED).forward(x, 1, b);
                    double worst = IntStream.range(0, out).mapToDouble(i -> Math.abs(a[i] - b[i])).max().orElseThrow();
                    double scale = IntStream.range(0, out).mapToDouble(i -> Math.abs(a[i])).max().orElseThrow();
                    assertThat(worst).isLessThan(0.05 * scale);
                }
            }
            System.out.printf("GEMVs of one decoded token (medians x occurrences): fp16 %.3f s, q8 %.3f s (%.2fx)%n",
                    fp16Total, q8Total, fp16Total / q8Total);
        }
    }

    /** Seconds of one GEMV, averaged over the weights (one pass over all of them). */
    private static double time(List<Linear> linears, float[] x, int out) {
        float[] y = new float[out];
        long t0 = System.nanoTime();
        for (Linear l : linears) {
            l.forward(x, 1, y);
        }
        return (System.nanoTime() - t0) / 1e9 / linears.size();
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static Tensor random(Arena arena, String name, int rows, int cols, long seed) {
        long n = (long) rows * cols;
        MemorySegment data = arena.allocate(n * 2, 64);
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + r);
            for (int c = 0; c < cols; c++) {
                data.setAtIndex(F16, (long) r * cols + c, Float.floatToFloat16((float) (rnd.nextGaussian() * 0.02)));
            }
        });
        return new Tensor(name, DType.FLOAT16, new long[] {rows, cols}, data);
    }
}
