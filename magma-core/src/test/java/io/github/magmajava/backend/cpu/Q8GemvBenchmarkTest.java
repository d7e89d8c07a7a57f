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
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Decode GEMV (one row) at GPT-J's shapes, fp16 against q8: prints GB/s of weights read and
 * Gweights/s; asserts only that both agree. Several copies of each shape (about 1.7 GB of fp16 in
 * all) so that the weights stream from memory, not from the caches. Tagged long: run with
 * {@code tools/mvn -Plong-tests -pl magma-core test -Dtest=Q8GemvBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dmagma.bench.threads=N} to pin the thread count).
 */
@Tag("long")
class Q8GemvBenchmarkTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void decodeGemvFp16AgainstQ8() {
        int threads = Integer.getInteger("magma.bench.threads", Runtime.getRuntime().availableProcessors());
        // [out, in] of q/k/v/out_proj, c_fc, c_proj, adapter down, lm_head; copies to exceed the caches.
        int[][] shapes = {{4096, 4096, 8}, {16384, 4096, 3}, {4096, 16384, 3}, {1024, 4096, 8}, {50400, 4096, 1}};
        try (Arena arena = Arena.ofShared();
                CpuBackend fp16 = CpuBackend.builder().threads(threads).build()) {
            for (int[] s : shapes) {
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
                    double fp16Seconds = time(weights.stream().map(w -> fp16.linear(w, null, Split.REPLICATED)).toList(), x, out);
                    double q8Seconds = time(weights.stream().map(w -> q8.linear(w, null, Split.REPLICATED)).toList(), x, out);
                    long n = (long) out * in;
                    double q8Bytes = n + (double) out * Q8Quantizer.blocks(in) * 2;
                    System.out.printf("GEMV [%d, %d], %d threads: fp16 %.2f ms (%.1f GB/s), q8 %.2f ms (%.1f GB/s, %.1f Gweights/s),"
                                    + " q8 %.2fx faster%n", out, in, threads, fp16Seconds * 1e3, n * 2 / fp16Seconds / 1e9,
                            q8Seconds * 1e3, q8Bytes / q8Seconds / 1e9, n / q8Seconds / 1e9, fp16Seconds / q8Seconds);

                    float[] a = new float[out];
                    float[] b = new float[out];
                    fp16.linear(weights.getFirst(), null, Split.REPLICATED).forward(x, 1, a);
                    q8.linear(weights.getFirst(), null, Split.REPLICATED).forward(x, 1, b);
                    double worst = IntStream.range(0, out).mapToDouble(i -> Math.abs(a[i] - b[i])).max().orElseThrow();
                    double scale = IntStream.range(0, out).mapToDouble(i -> Math.abs(a[i])).max().orElseThrow();
                    assertThat(worst).isLessThan(0.05 * scale);
                }
            }
        }
    }

    /** Best time of one GEMV per weight, averaged over the weights (all of them per repetition). */
    private static double time(List<Linear> linears, float[] x, int out) {
        float[] y = new float[out];
        long best = Long.MAX_VALUE;
        for (int rep = 0; rep < 15; rep++) {
            long t0 = System.nanoTime();
            for (Linear l : linears) {
                l.forward(x, 1, y);
            }
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best / 1e9 / linears.size();
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
