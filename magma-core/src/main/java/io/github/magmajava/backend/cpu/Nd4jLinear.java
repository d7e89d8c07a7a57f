package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.Linear;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code y = x W^T + b} with W as stored (fp16 mapped, bf16 or fp32). Few rows (decoding) run the
 * pure-Java streaming GEMM, which reads W once at its stored width: memory-bound, nothing to gain
 * from oneDNN. Many rows (prefill) are compute-bound: W is converted chunk by chunk into a native
 * scratch buffer (float32 or bfloat16) and multiplied by oneDNN; the conversion is part of every
 * call, as the mapped fp16 file stays the only copy of the weights.
 */
final class Nd4jLinear implements Linear {
    /**
     * Rows from which oneDNN runs in bf16: below it {@link Gemm} streams the weights. The bf16
     * mode is for fast prefill, so it takes oneDNN early; batched decode steps then share a pass
     * in groups of 4 ({@link CpuBackend#independentRows()}), where fp32 mode groups 16.
     */
    static final int MIN_ROWS = 5;
    /**
     * Rows from which oneDNN runs in float32. Each call first converts the whole fp16 weight to
     * float32 (12 GB read, 24 GB written per forward pass of the full model), a fixed cost that
     * only a long prefill amortises: measured on the full-size model, a 16-row prefill took 8.7 s
     * on oneDNN and 2.2 s on the pure-Java kernels, 160 rows 14.0 s and 15.2 s, a crossover near
     * 140 rows (docs/performance.md, "Image sessions").
     */
    static final int FP32_MIN_ROWS = 128;
    /** Converted weight bytes per oneDNN call: bounds the scratch buffer (a c_fc weight is 256 MB in fp32). */
    static final long CHUNK_BYTES = 32L << 20;
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int LANES = HalfFloats.LANES;

    private final WeightMatrix weight;
    private final float[] bias;
    private final Nd4jKernels kernels;
    private final boolean bf16;
    private final long chunkBytes;

    Nd4jLinear(WeightMatrix weight, float[] bias, Nd4jKernels kernels) {
        this(weight, bias, kernels, CHUNK_BYTES);
    }

    /** With another chunk budget: tests use a small one to cross chunk boundaries. */
    Nd4jLinear(WeightMatrix weight, float[] bias, Nd4jKernels kernels, long chunkBytes) {
        this.weight = weight;
        this.bias = bias;
        this.kernels = kernels;
        this.bf16 = kernels.mode() == OneDnnMode.BF16;
        this.chunkBytes = chunkBytes;
    }

    @Override
    public int inFeatures() {
        return weight.cols;
    }

    @Override
    public int outFeatures() {
        return weight.rows;
    }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        int k = weight.cols;
        int n = weight.rows;
        if (rows < 0 || x.length < (long) rows * k || y.length < (long) rows * n) {
            throw new IllegalArgumentException("linear: " + rows + " rows need x of " + (long) rows * k + " and y of "
                    + (long) rows * n + " floats, found " + x.length + " and " + y.length);
        }
        if (rows < kernels.minRows()) {
            Gemm.multiply(x, rows, k, weight, bias, y, kernels.pool(), kernels.decode());
            return;
        }
        Nd4jScratch scratch = kernels.borrow();
        try {
            multiply(scratch, x, rows, y);
        } catch (RuntimeException e) {
            kernels.reportFailure("matmul [" + rows + " x " + k + "] x [" + n + " x " + k + "]^T", e);
            Gemm.multiply(x, rows, k, weight, bias, y, kernels.pool());
        } finally {
            kernels.giveBack(scratch);
        }
    }

    private void multiply(Nd4jScratch scratch, float[] x, int rows, float[] y) {
        int k = weight.cols;
        int n = weight.rows;
        int bytes = bf16 ? 2 : 4;
        DataType type = bf16 ? DataType.BFLOAT16 : DataType.FLOAT;
        MemorySegment xs = scratch.buffer(Nd4jScratch.INPUT, (long) rows * k * bytes);
        if (bf16) {
            toBfloat16(x, rows * k, xs);
        } else {
            MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, rows * k);
        }
        INDArray xa = Nd4jRuntime.view(xs, type, rows, k);
        int chunk = (int) Math.max(1, Math.min(n, chunkBytes / ((long) k * bytes)));
        for (int n0 = 0; n0 < n; n0 += chunk) {
            int width = Math.min(chunk, n - n0);
            MemorySegment ws = scratch.buffer(Nd4jScratch.WEIGHT, (long) width * k * bytes);
            convertRows(n0, width, ws);
            MemorySegment ys = scratch.buffer(Nd4jScratch.OUTPUT, (long) rows * width * bytes);
            Nd4jRuntime.matmulTransposedB(xa, Nd4jRuntime.view(ws, type, width, k), Nd4jRuntime.view(ys, type, rows, width),
                    kernels.threads());
            scatter(ys, rows, n0, width, y);
        }
    }

    /** Weight rows n0 .. n0+width-1 into {@code dst} as float32 or bfloat16, split over the workers. */
    private void convertRows(int n0, int width, MemorySegment dst) {
        int tasks = Math.min(width, kernels.pool().getParallelism() * 4);
        kernels.parallelFor(tasks, t -> {
            int from = (int) ((long) width * t / tasks);
            int to = (int) ((long) width * (t + 1) / tasks);
            if (bf16) {
                for (int r = from; r < to; r++) {
                    rowToBfloat16(n0 + r, dst, (long) r * weight.cols * 2);
                }
            } else {
                weight.widenRows(n0 + from, to - from, dst, (long) from * weight.cols * 4);
            }
        });
    }

    /** Widened first by the format's fast {@link WeightMatrix#widenRows} into a cache-resident row, then rounded. */
    private void rowToBfloat16(int row, MemorySegment dst, long offset) {
        int k = weight.cols;
        float[] widened = ROW.get();
        if (widened.length < k) {
            widened = new float[k];
            ROW.set(widened);
        }
        weight.widenRow(row, widened, 0);
        int c = 0;
        for (; c + LANES <= k; c += LANES) {
            bfloat16(FloatVector.fromArray(HalfFloats.F, widened, c)).intoMemorySegment(dst, offset + c * 2L, ByteOrder.LITTLE_ENDIAN);
        }
        for (; c < k; c++) {
            dst.set(LE16, offset + c * 2L, bfloat16(widened[c]));
        }
    }

    private static void toBfloat16(float[] x, int count, MemorySegment dst) {
        int i = 0;
        for (; i + LANES <= count; i += LANES) {
            bfloat16(FloatVector.fromArray(HalfFloats.F, x, i)).intoMemorySegment(dst, i * 2L, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < count; i++) {
            dst.set(LE16, i * 2L, bfloat16(x[i]));
        }
    }

    /** Output chunk [rows, width] into columns n0 .. n0+width-1 of y [rows, n], plus the bias. */
    private void scatter(MemorySegment ys, int rows, int n0, int width, float[] y) {
        int n = weight.rows;
        for (int r = 0; r < rows; r++) {
            int base = r * n + n0;
            if (bf16) {
                long src = (long) r * width * 2;
                int j = 0;
                for (; j + LANES <= width; j += LANES) {
                    HalfFloats.bfloat16(ys, src + j * 2L).intoArray(y, base + j);
                }
                for (; j < width; j++) {
                    y[base + j] = Float.intBitsToFloat(ys.get(LE16, src + j * 2L) << 16);
                }
            } else {
                MemorySegment.copy(ys, ValueLayout.JAVA_FLOAT, (long) r * width * 4, y, base, width);
            }
            if (bias != null) {
                for (int j = 0; j < width; j++) {
                    y[base + j] += bias[n0 + j];
                }
            }
        }
    }

    /** Round to nearest even, as oneDNN and PyTorch convert; NaN stays a (quiet) NaN. */
    static short bfloat16(float f) {
        if (Float.isNaN(f)) {
            return 0x7fc0;
        }
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static ShortVector bfloat16(FloatVector v) {
        IntVector bits = v.reinterpretAsInts();
        IntVector rounded = bits.add(bits.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7fff).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Float> nan = v.test(VectorOperators.IS_NAN);
        if (nan.anyTrue()) {
            rounded = rounded.blend(0x7fc0, nan.cast(HalfFloats.I));
        }
        return (ShortVector) rounded.convertShape(VectorOperators.I2S, HalfFloats.S, 0);
    }
}
