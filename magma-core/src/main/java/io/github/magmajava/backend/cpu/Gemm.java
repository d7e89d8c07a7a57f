package io.github.magmajava.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import jdk.incubator.vector.FloatVector;

/**
 * {@code C[m, n] = A[m, k] B[n, k]^T (+ bias[n])}: both operands have the reduction dimension
 * contiguous, which is how Linear weights ([out, in]) and im2col patches are stored. Few rows
 * (decoding) stream B once, widening it in registers (int8 blocks or fp16): memory-bound. Many rows (prefill,
 * convolutions) widen a block of B into a per-thread fp32 panel and reuse it for every row:
 * compute-bound, 4 x 4 register tiles of FMAs as wide as the hardware's vectors.
 */
final class Gemm {
    private static final int LANES = HalfFloats.LANES;
    /**
     * Rows up to which B is streamed instead of widened into a panel: a decode step, or a batch of
     * decode steps of several generations. Every row gets the same FMA chain as a row alone.
     */
    static final int STREAM_ROWS = 16;
    /** Output columns per task and per widened panel. */
    private static final int BLOCK_N = 16;
    /** Rows per task when many rows are multiplied. */
    private static final int BLOCK_M = 128;

    /**
     * Rows per register tile: 4 x 4 tiles keep 21 vectors live, 2 x 4 tiles 13. AVX-512 and
     * AArch64 have 32 vector registers; x86 below AVX-512 has 16, where 4 x 4 tiles would spill.
     * {@code -Dmagma.gemm.tileRows=2|4} overrides the choice (for benchmarks).
     */
    static final int TILE_ROWS = tileRows(System.getProperty("magma.gemm.tileRows"), System.getProperty("os.arch", ""), LANES);

    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);

    private Gemm() {
    }

    static int tileRows(String override, String arch, int lanes) {
        if (override != null) {
            return switch (override.strip()) {
                case "2" -> 2;
                case "4" -> 4;
                default -> throw new IllegalArgumentException("-Dmagma.gemm.tileRows must be 2 or 4, found " + override);
            };
        }
        boolean registers32 = lanes >= 16 || arch.equals("aarch64") || arch.equals("arm64");
        return registers32 ? 4 : 2;
    }

    static void multiply(float[] a, int m, int k, WeightMatrix b, float[] bias, float[] c, ForkJoinPool pool) {
        multiply(a, m, k, b, bias, c, pool, null);
    }

    /** As above; the streaming (decode) path hands its tasks to {@code decode} when that is free. */
    static void multiply(float[] a, int m, int k, WeightMatrix b, float[] bias, float[] c, ForkJoinPool pool,
            SpinningWorkers decode) {
        int n = b.rows;
        if (b.cols != k) {
            throw new IllegalArgumentException("inner dimensions differ: A has " + k + " columns, B has " + b.cols);
        }
        if (a.length < (long) m * k || c.length < (long) m * n) {
            throw new IllegalArgumentException("buffers too small for [" + m + ", " + k + "] x [" + n + ", " + k + "]^T");
        }
        int nBlocks = (n + BLOCK_N - 1) / BLOCK_N;
        if (m <= STREAM_ROWS) {
            // Enough tasks to balance, each one a contiguous run of B rows: one long sequential
            // stream per thread is what the hardware prefetchers follow best.
            int tasks = Math.min(nBlocks, pool.getParallelism() * 8);
            java.util.function.IntConsumer body = t -> {
                int n0 = (int) ((long) nBlocks * t / tasks) * BLOCK_N;
                int n1 = Math.min(n, (int) ((long) nBlocks * (t + 1) / tasks) * BLOCK_N);
                streamBlock(a, m, k, b, bias, c, n0, n1);
            };
            if (tasks == 1 || pool.getParallelism() == 1 || decode == null || !decode.tryRun(tasks, body)) {
                Tasks.run(pool, tasks, body);
            }
        } else {
            int mBlocks = (m + BLOCK_M - 1) / BLOCK_M;
            Tasks.run(pool, mBlocks * nBlocks, task -> {
                int n0 = (task % nBlocks) * BLOCK_N;
                int m0 = (task / nBlocks) * BLOCK_M;
                panelBlock(a, k, b, bias, c, m0, Math.min(m, m0 + BLOCK_M), n0, Math.min(n, n0 + BLOCK_N));
            });
        }
    }

    /**
     * Rows 0..m-1 (m <= {@link #STREAM_ROWS}) against B rows n0..n1-1, B widened in registers by
     * its own kernels; several rows share each read of B ({@link WeightMatrix#dotsRows}).
     */
    private static void streamBlock(float[] a, int m, int k, WeightMatrix b, float[] bias, float[] c, int n0, int n1) {
        int n = b.rows;
        if (m == 1) {
            b.dots(n0, n1, a, 0, c, n0);
        } else {
            b.dotsRows(n0, n1, a, m, c, n);
        }
        if (bias != null) {
            for (int r = 0; r < m; r++) {
                for (int o = n0; o < n1; o++) {
                    c[r * n + o] += bias[o];
                }
            }
        }
    }

    /** Rows m0..m1-1 against B rows n0..n1-1, B widened once into a panel. */
    private static void panelBlock(float[] a, int k, WeightMatrix b, float[] bias, float[] c, int m0, int m1, int n0, int n1) {
        int width = n1 - n0;
        float[] panel = b.heapArray();
        int panelBase = n0 * k;
        if (panel == null) {
            panel = PANEL.get();
            if (panel.length < width * k) {
                panel = new float[BLOCK_N * k];
                PANEL.set(panel);
            }
            for (int j = 0; j < width; j++) {
                b.widenRow(n0 + j, panel, j * k);
            }
            panelBase = 0;
        }
        int n = b.rows;
        int r = m0;
        for (; r + TILE_ROWS <= m1; r += TILE_ROWS) {
            int j = 0;
            for (; j + 4 <= width; j += 4) {
                if (TILE_ROWS == 4) {
                    tile4x4(a, r * k, panel, panelBase + j * k, k, c, r, n0 + j, n, bias);
                } else {
                    tile2x4(a, r * k, panel, panelBase + j * k, k, c, r, n0 + j, n, bias);
                }
            }
            for (; j < width; j++) {
                for (int rr = r; rr < r + TILE_ROWS; rr++) {
                    c[rr * n + n0 + j] = dot(a, rr * k, panel, panelBase + j * k, k) + (bias == null ? 0 : bias[n0 + j]);
                }
            }
        }
        for (; r < m1; r++) {
            for (int j = 0; j < width; j++) {
                c[r * n + n0 + j] = dot(a, r * k, panel, panelBase + j * k, k) + (bias == null ? 0 : bias[n0 + j]);
            }
        }
    }

    /**
     * 2 x 4 tiles: 8 accumulators, 4 B vectors and an A vector, for machines with 16 vector
     * registers, where 4 x 4 tiles' 21 live vectors would spill.
     */
    private static void tile2x4(float[] a, int aBase, float[] p, int pBase, int k, float[] c, int row, int col, int n, float[] bias) {
        FloatVector c00 = FloatVector.zero(HalfFloats.F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int kv = k - k % LANES;
        for (int i = 0; i < kv; i += LANES) {
            FloatVector b0 = FloatVector.fromArray(HalfFloats.F, p, pBase + i);
            FloatVector b1 = FloatVector.fromArray(HalfFloats.F, p, pBase + k + i);
            FloatVector b2 = FloatVector.fromArray(HalfFloats.F, p, pBase + 2 * k + i);
            FloatVector b3 = FloatVector.fromArray(HalfFloats.F, p, pBase + 3 * k + i);
            FloatVector a0 = FloatVector.fromArray(HalfFloats.F, a, aBase + i);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            c02 = a0.fma(b2, c02);
            c03 = a0.fma(b3, c03);
            FloatVector a1 = FloatVector.fromArray(HalfFloats.F, a, aBase + k + i);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            c12 = a1.fma(b2, c12);
            c13 = a1.fma(b3, c13);
        }
        float[] sums = {
            HalfFloats.sum(c00), HalfFloats.sum(c01), HalfFloats.sum(c02), HalfFloats.sum(c03),
            HalfFloats.sum(c10), HalfFloats.sum(c11), HalfFloats.sum(c12), HalfFloats.sum(c13)};
        storeTile(sums, 2, a, aBase, p, pBase, k, kv, c, row, col, n, bias);
    }

    private static void tile4x4(float[] a, int aBase, float[] p, int pBase, int k, float[] c, int row, int col, int n, float[] bias) {
        FloatVector c00 = FloatVector.zero(HalfFloats.F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int kv = k - k % LANES;
        for (int i = 0; i < kv; i += LANES) {
            FloatVector b0 = FloatVector.fromArray(HalfFloats.F, p, pBase + i);
            FloatVector b1 = FloatVector.fromArray(HalfFloats.F, p, pBase + k + i);
            FloatVector b2 = FloatVector.fromArray(HalfFloats.F, p, pBase + 2 * k + i);
            FloatVector b3 = FloatVector.fromArray(HalfFloats.F, p, pBase + 3 * k + i);
            FloatVector a0 = FloatVector.fromArray(HalfFloats.F, a, aBase + i);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            c02 = a0.fma(b2, c02);
            c03 = a0.fma(b3, c03);
            FloatVector a1 = FloatVector.fromArray(HalfFloats.F, a, aBase + k + i);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            c12 = a1.fma(b2, c12);
            c13 = a1.fma(b3, c13);
            FloatVector a2 = FloatVector.fromArray(HalfFloats.F, a, aBase + 2 * k + i);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            c22 = a2.fma(b2, c22);
            c23 = a2.fma(b3, c23);
            FloatVector a3 = FloatVector.fromArray(HalfFloats.F, a, aBase + 3 * k + i);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            c32 = a3.fma(b2, c32);
            c33 = a3.fma(b3, c33);
        }
        // Reduced one by one: collecting the vectors in an array would make C2 box them.
        float[] sums = {
            HalfFloats.sum(c00), HalfFloats.sum(c01), HalfFloats.sum(c02), HalfFloats.sum(c03),
            HalfFloats.sum(c10), HalfFloats.sum(c11), HalfFloats.sum(c12), HalfFloats.sum(c13),
            HalfFloats.sum(c20), HalfFloats.sum(c21), HalfFloats.sum(c22), HalfFloats.sum(c23),
            HalfFloats.sum(c30), HalfFloats.sum(c31), HalfFloats.sum(c32), HalfFloats.sum(c33)};
        storeTile(sums, 4, a, aBase, p, pBase, k, kv, c, row, col, n, bias);
    }

    /** A tile's lane sums plus the columns past the last whole vector, and the bias, into C. */
    private static void storeTile(float[] sums, int rows, float[] a, int aBase, float[] p, int pBase, int k, int kv,
            float[] c, int row, int col, int n, float[] bias) {
        for (int rr = 0; rr < rows; rr++) {
            for (int jj = 0; jj < 4; jj++) {
                float sum = sums[rr * 4 + jj];
                for (int i = kv; i < k; i++) {
                    sum += a[aBase + rr * k + i] * p[pBase + jj * k + i];
                }
                c[(row + rr) * n + col + jj] = sum + (bias == null ? 0 : bias[col + jj]);
            }
        }
    }

    static float dot(float[] x, int xBase, float[] y, int yBase, int k) {
        FloatVector acc = FloatVector.zero(HalfFloats.F);
        int i = 0;
        for (int bound = k - LANES; i <= bound; i += LANES) {
            acc = FloatVector.fromArray(HalfFloats.F, x, xBase + i).fma(FloatVector.fromArray(HalfFloats.F, y, yBase + i), acc);
        }
        float sum = HalfFloats.sum(acc);
        for (; i < k; i++) {
            sum += x[xBase + i] * y[yBase + i];
        }
        return sum;
    }
}
