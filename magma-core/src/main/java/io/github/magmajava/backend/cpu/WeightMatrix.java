package io.github.magmajava.backend.cpu;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A read-only [rows, cols] matrix in its stored format (fp16/bf16 as mapped, fp32, or int8
 * blocks), read as float vectors. Kernels never copy a whole weight: they widen the chunk they
 * need. Each format has its own {@link #dot}, the decode kernel, so that the widening is inlined
 * into the loop instead of going through a virtual call per vector.
 */
abstract sealed class WeightMatrix {
    final int rows;
    final int cols;

    WeightMatrix(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
    }

    static WeightMatrix of(Tensor t) {
        int rows = Math.toIntExact(t.dim(0));
        int cols = Math.toIntExact(t.numel() / Math.max(1, t.dim(0)));
        return switch (t.dtype()) {
            case FLOAT16, BFLOAT16 -> new Half(t.data(), rows, cols, t.dtype() == DType.BFLOAT16);
            case FLOAT32 -> new Segment32(t.data(), rows, cols);
            default -> throw new IllegalArgumentException("weight " + t.name() + " has dtype " + t.dtype().torchName()
                    + "; matrices must be float16, bfloat16 or float32");
        };
    }

    static WeightMatrix of(float[] values, int rows, int cols) {
        return new Heap32(values, rows, cols);
    }

    static WeightMatrix of(Q8Tensor q) {
        return new Q8(q.values().data(), q.scales().data(), q.rows(), q.cols());
    }

    /** {@code sum_c W[r, c] x[xOffset + c]}: one output of a matrix-vector product. */
    abstract float dot(int r, float[] x, int xOffset);

    /**
     * {@code out[outOffset + i] = dot(r0 + i, x, xOffset)} for rows {@code r0 <= r0 + i < r1}: the
     * decode kernel. Formats override it to stream several rows at once against one read of x.
     */
    void dots(int r0, int r1, float[] x, int xOffset, float[] out, int outOffset) {
        for (int r = r0; r < r1; r++) {
            out[outOffset + r - r0] = dot(r, x, xOffset);
        }
    }

    /**
     * {@code out[i * n + r] = dot(r, x, i * cols)} for B rows {@code r0 <= r < r1} and the
     * {@code m} rows of x [m, cols]: a batch of decode steps. Every output equals {@link #dots}'
     * for that row of x alone. By default B is taken in sub-blocks small enough to stay in cache
     * while each row of x is multiplied by them; formats override it to widen each weight vector
     * once for several rows of x.
     */
    void dotsRows(int r0, int r1, float[] x, int m, float[] out, int n) {
        for (int s = r0; s < r1; s += SUB_BLOCK) {
            int e = Math.min(r1, s + SUB_BLOCK);
            for (int i = 0; i < m; i++) {
                dots(s, e, x, i * cols, out, i * n + s);
            }
        }
    }

    /** Weight rows per sub-block of {@link #dotsRows}: read from memory once, then from L1/L2 for each row of x. */
    private static final int SUB_BLOCK = 16;

    /** {@link HalfFloats#LANES} values of row {@code r} from column {@code c} (c + LANES <= cols). */
    abstract FloatVector vector(int r, int c);

    abstract float get(int r, int c);

    /** Row {@code r} widened into {@code dst[offset ..]}: {@link #widenRows} on the array. */
    final void widenRow(int r, float[] dst, int offset) {
        widenRows(r, 1, MemorySegment.ofArray(dst), 4L * offset);
    }

    /**
     * Rows r0 .. r0+count-1 as little-endian float32 into {@code dst} from byte {@code offset} on:
     * the one widening every format implements (prefill chunks for oneDNN, pure-Java panels,
     * embedding rows).
     */
    void widenRows(int r0, int count, MemorySegment dst, long offset) {
        for (int r = r0; r < r0 + count; r++) {
            long rowOffset = offset + (long) (r - r0) * cols * 4;
            int c = 0;
            for (int bound = cols - HalfFloats.LANES; c <= bound; c += HalfFloats.LANES) {
                vector(r, c).intoMemorySegment(dst, rowOffset + c * 4L, ByteOrder.LITTLE_ENDIAN);
            }
            for (; c < cols; c++) {
                dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, rowOffset + c * 4L, get(r, c));
            }
        }
    }

    /** The backing array when the matrix already is fp32 on the heap (no widening needed). */
    float[] heapArray() {
        return null;
    }

    static final class Half extends WeightMatrix {
        private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final float TWO_POW_112 = 0x1p112f;
        /** Rows per decode group ({@link #dot4}). */
        private static final int GROUP = 4;
        /** 4 x 4 tiles for batched rows where the vector registers allow (the GEMM's own choice, {@link Gemm#TILE_ROWS}). */
        private static final boolean WIDE_TILES = Gemm.TILE_ROWS == 4;
        private static final byte UNKNOWN = 0;
        private static final byte FINITE = 1;
        private static final byte SPECIAL = 2;

        private final MemorySegment data;
        private final boolean bfloat;
        /** Per group of rows: UNKNOWN until {@link #finiteGroup} scans it. */
        private final byte[] groups;

        Half(MemorySegment data, int rows, int cols, boolean bfloat) {
            super(rows, cols);
            this.data = data;
            this.bfloat = bfloat;
            this.groups = new byte[rows / GROUP];
        }

        @Override
        FloatVector vector(int r, int c) {
            long offset = ((long) r * cols + c) * 2;
            return bfloat ? HalfFloats.bfloat16(data, offset) : HalfFloats.float16(data, offset);
        }

        @Override
        float get(int r, int c) {
            short h = data.getAtIndex(LE, (long) r * cols + c);
            return bfloat ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
        }

        /**
         * One FMA chain per row, columns in order: the same sums as {@link #dots} gives for finite
         * weights, so a row's result does not depend on which path computed it.
         */
        @Override
        float dot(int r, float[] x, int xOffset) {
            long row = (long) r * cols * 2;
            int kv = cols - cols % HalfFloats.LANES;
            FloatVector acc = FloatVector.zero(HalfFloats.F);
            for (int c = 0; c < kv; c += HalfFloats.LANES) {
                FloatVector w = bfloat ? HalfFloats.bfloat16(data, row + 2L * c) : HalfFloats.float16(data, row + 2L * c);
                acc = w.fma(FloatVector.fromArray(HalfFloats.F, x, xOffset + c), acc);
            }
            float sum = HalfFloats.sum(acc);
            for (int c = kv; c < cols; c++) {
                sum += x[xOffset + c] * get(r, c);
            }
            return sum;
        }

        @Override
        void dots(int r0, int r1, float[] x, int xOffset, float[] out, int outOffset) {
            int r = r0;
            float[] scaled = bfloat || cols % HalfFloats.LANES != 0 ? null : HalfFloats.scaledForFloat16(x, xOffset, cols);
            if (scaled != null) {
                for (; r + GROUP <= r1; r += GROUP) {
                    if (finiteGroup(r)) {
                        dot4(r, scaled, out, outOffset + r - r0);
                    } else {
                        for (int i = 0; i < GROUP; i++) {
                            out[outOffset + r - r0 + i] = dot(r + i, x, xOffset);
                        }
                    }
                }
            }
            for (; r < r1; r++) {
                out[outOffset + r - r0] = dot(r, x, xOffset);
            }
        }

        /**
         * Four weight rows at a time against up to four rows of x at a time (two where the
         * vector registers are fewer, {@link #WIDE_TILES}): each weight vector widened once for
         * all of them. Every (weight row, row of x) pair has its own accumulator, so its FMA chain
         * is the one {@link #dot4} runs for that row of x alone. A row of x that cannot be scaled,
         * and weight rows with inf or NaN, take {@link #dot}, as they do alone. (Taking the
         * columns in L1-sized chunks, accumulators kept in {@code acc} between them, measured no
         * better: docs/serve.md.)
         */
        @Override
        void dotsRows(int r0, int r1, float[] x, int m, float[] out, int n) {
            if (bfloat || cols % HalfFloats.LANES != 0 || m == 1) {
                super.dotsRows(r0, r1, x, m, out, n);
                return;
            }
            float[] scaled = HalfFloats.scaledRowsForFloat16(x, m, cols);
            boolean[] scalable = new boolean[m];
            for (int i = 0; i < m; i++) {
                scalable[i] = !Float.isNaN(scaled[i * cols]);
            }
            int lanes = HalfFloats.LANES;
            float[] acc = new float[m * GROUP * lanes];
            int r = r0;
            for (; r + GROUP <= r1; r += GROUP) {
                if (!finiteGroup(r)) {
                    for (int i = 0; i < m; i++) {
                        for (int g = 0; g < GROUP; g++) {
                            out[i * n + r + g] = dot(r + g, x, i * cols);
                        }
                    }
                    continue;
                }
                Arrays.fill(acc, 0);
                for (int i = 0; i < m; ) {
                    if (WIDE_TILES && i + 3 < m && scalable[i] && scalable[i + 1] && scalable[i + 2] && scalable[i + 3]) {
                        dot4x4(r, scaled, i * cols, acc, i * GROUP * lanes);
                        i += 4;
                    } else if (i + 1 < m && scalable[i] && scalable[i + 1]) {
                        dot4x2(r, scaled, i * cols, acc, i * GROUP * lanes);
                        i += 2;
                    } else {
                        if (scalable[i]) {
                            dot4x1(r, scaled, i * cols, acc, i * GROUP * lanes);
                        }
                        i++;
                    }
                }
                for (int i = 0; i < m; i++) {
                    for (int g = 0; g < GROUP; g++) {
                        out[i * n + r + g] = scalable[i]
                                ? HalfFloats.sum(FloatVector.fromArray(HalfFloats.F, acc, (i * GROUP + g) * lanes))
                                : dot(r + g, x, i * cols);
                    }
                }
            }
            for (; r < r1; r++) {
                for (int i = 0; i < m; i++) {
                    out[i * n + r] = dot(r, x, i * cols);
                }
            }
        }

        private static FloatVector load(float[] acc, int at) {
            return FloatVector.fromArray(HalfFloats.F, acc, at);
        }

        /**
         * Weight rows r .. r+3 against four rows of scaled x from {@code x0} ({@code cols} apart),
         * into the 16 vectors of {@code acc} from {@code a} (row of x major): 16 chains, each
         * weight vector widened once. Needs 32 vector registers.
         */
        private void dot4x4(int r, float[] scaled, int x0, float[] acc, int a) {
            MemorySegment w = data;
            int l = HalfFloats.LANES;
            long w0 = (long) r * cols * 2;
            long w1 = w0 + cols * 2L;
            long w2 = w1 + cols * 2L;
            long w3 = w2 + cols * 2L;
            int x1 = x0 + cols;
            int x2 = x1 + cols;
            int x3 = x2 + cols;
            FloatVector a0 = load(acc, a), a1 = load(acc, a + l), a2 = load(acc, a + 2 * l), a3 = load(acc, a + 3 * l);
            FloatVector b0 = load(acc, a + 4 * l), b1 = load(acc, a + 5 * l), b2 = load(acc, a + 6 * l), b3 = load(acc, a + 7 * l);
            FloatVector c0 = load(acc, a + 8 * l), c1 = load(acc, a + 9 * l), c2 = load(acc, a + 10 * l), c3 = load(acc, a + 11 * l);
            FloatVector d0 = load(acc, a + 12 * l), d1 = load(acc, a + 13 * l), d2 = load(acc, a + 14 * l), d3 = load(acc, a + 15 * l);
            for (int c = 0; c < cols; c += l) {
                long o = 2L * c;
                FloatVector v0 = HalfFloats.float16Bits(w, w0 + o).reinterpretAsFloats();
                FloatVector v1 = HalfFloats.float16Bits(w, w1 + o).reinterpretAsFloats();
                FloatVector v2 = HalfFloats.float16Bits(w, w2 + o).reinterpretAsFloats();
                FloatVector v3 = HalfFloats.float16Bits(w, w3 + o).reinterpretAsFloats();
                FloatVector x = FloatVector.fromArray(HalfFloats.F, scaled, x0 + c);
                a0 = v0.fma(x, a0);
                a1 = v1.fma(x, a1);
                a2 = v2.fma(x, a2);
                a3 = v3.fma(x, a3);
                x = FloatVector.fromArray(HalfFloats.F, scaled, x1 + c);
                b0 = v0.fma(x, b0);
                b1 = v1.fma(x, b1);
                b2 = v2.fma(x, b2);
                b3 = v3.fma(x, b3);
                x = FloatVector.fromArray(HalfFloats.F, scaled, x2 + c);
                c0 = v0.fma(x, c0);
                c1 = v1.fma(x, c1);
                c2 = v2.fma(x, c2);
                c3 = v3.fma(x, c3);
                x = FloatVector.fromArray(HalfFloats.F, scaled, x3 + c);
                d0 = v0.fma(x, d0);
                d1 = v1.fma(x, d1);
                d2 = v2.fma(x, d2);
                d3 = v3.fma(x, d3);
            }
            a0.intoArray(acc, a);
            a1.intoArray(acc, a + l);
            a2.intoArray(acc, a + 2 * l);
            a3.intoArray(acc, a + 3 * l);
            b0.intoArray(acc, a + 4 * l);
            b1.intoArray(acc, a + 5 * l);
            b2.intoArray(acc, a + 6 * l);
            b3.intoArray(acc, a + 7 * l);
            c0.intoArray(acc, a + 8 * l);
            c1.intoArray(acc, a + 9 * l);
            c2.intoArray(acc, a + 10 * l);
            c3.intoArray(acc, a + 11 * l);
            d0.intoArray(acc, a + 12 * l);
            d1.intoArray(acc, a + 13 * l);
            d2.intoArray(acc, a + 14 * l);
            d3.intoArray(acc, a + 15 * l);
        }

        /** {@link #dot4x4} for two rows of x: 8 chains, for machines with 16 vector registers and for odd rows. */
        private void dot4x2(int r, float[] scaled, int x0, float[] acc, int a) {
            MemorySegment w = data;
            int l = HalfFloats.LANES;
            long w0 = (long) r * cols * 2;
            long w1 = w0 + cols * 2L;
            long w2 = w1 + cols * 2L;
            long w3 = w2 + cols * 2L;
            int x1 = x0 + cols;
            FloatVector a0 = load(acc, a), a1 = load(acc, a + l), a2 = load(acc, a + 2 * l), a3 = load(acc, a + 3 * l);
            FloatVector b0 = load(acc, a + 4 * l), b1 = load(acc, a + 5 * l), b2 = load(acc, a + 6 * l), b3 = load(acc, a + 7 * l);
            for (int c = 0; c < cols; c += l) {
                long o = 2L * c;
                FloatVector v0 = HalfFloats.float16Bits(w, w0 + o).reinterpretAsFloats();
                FloatVector v1 = HalfFloats.float16Bits(w, w1 + o).reinterpretAsFloats();
                FloatVector v2 = HalfFloats.float16Bits(w, w2 + o).reinterpretAsFloats();
                FloatVector v3 = HalfFloats.float16Bits(w, w3 + o).reinterpretAsFloats();
                FloatVector x = FloatVector.fromArray(HalfFloats.F, scaled, x0 + c);
                a0 = v0.fma(x, a0);
                a1 = v1.fma(x, a1);
                a2 = v2.fma(x, a2);
                a3 = v3.fma(x, a3);
                x = FloatVector.fromArray(HalfFloats.F, scaled, x1 + c);
                b0 = v0.fma(x, b0);
                b1 = v1.fma(x, b1);
                b2 = v2.fma(x, b2);
                b3 = v3.fma(x, b3);
            }
            a0.intoArray(acc, a);
            a1.intoArray(acc, a + l);
            a2.intoArray(acc, a + 2 * l);
            a3.intoArray(acc, a + 3 * l);
            b0.intoArray(acc, a + 4 * l);
            b1.intoArray(acc, a + 5 * l);
            b2.intoArray(acc, a + 6 * l);
            b3.intoArray(acc, a + 7 * l);
        }

        /** {@link #dot4x4} for one row of x. */
        private void dot4x1(int r, float[] scaled, int x0, float[] acc, int a) {
            MemorySegment w = data;
            int l = HalfFloats.LANES;
            long w0 = (long) r * cols * 2;
            long w1 = w0 + cols * 2L;
            long w2 = w1 + cols * 2L;
            long w3 = w2 + cols * 2L;
            FloatVector a0 = load(acc, a), a1 = load(acc, a + l), a2 = load(acc, a + 2 * l), a3 = load(acc, a + 3 * l);
            for (int c = 0; c < cols; c += l) {
                long o = 2L * c;
                FloatVector x = FloatVector.fromArray(HalfFloats.F, scaled, x0 + c);
                a0 = HalfFloats.float16Bits(w, w0 + o).reinterpretAsFloats().fma(x, a0);
                a1 = HalfFloats.float16Bits(w, w1 + o).reinterpretAsFloats().fma(x, a1);
                a2 = HalfFloats.float16Bits(w, w2 + o).reinterpretAsFloats().fma(x, a2);
                a3 = HalfFloats.float16Bits(w, w3 + o).reinterpretAsFloats().fma(x, a3);
            }
            a0.intoArray(acc, a);
            a1.intoArray(acc, a + l);
            a2.intoArray(acc, a + 2 * l);
            a3.intoArray(acc, a + 3 * l);
        }

        /**
         * Rows r .. r+3 against x scaled by 2^112 ({@link HalfFloats#scaledForFloat16}): each x
         * vector loaded once for four rows (x of a 16384-wide layer does not fit in L1), four
         * independent FMA chains, and the widening down to three operations
         * ({@link HalfFloats#float16Bits}): the 2^112 that turns those bits into the weight's
         * value sits in x instead. Power-of-two scaling is exact, so every product, and so every
         * sum, equals {@link #dot}'s. Only for rows without inf or NaN ({@link #finiteGroup}).
         */
        private void dot4(int r, float[] scaledX, float[] out, int outOffset) {
            MemorySegment w = data;
            long r0 = (long) r * cols * 2;
            long r1 = r0 + cols * 2L;
            long r2 = r1 + cols * 2L;
            long r3 = r2 + cols * 2L;
            FloatVector a0 = FloatVector.zero(HalfFloats.F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int c = 0; c < cols; c += HalfFloats.LANES) {
                FloatVector xv = FloatVector.fromArray(HalfFloats.F, scaledX, c);
                long o = 2L * c;
                a0 = HalfFloats.float16Bits(w, r0 + o).reinterpretAsFloats().fma(xv, a0);
                a1 = HalfFloats.float16Bits(w, r1 + o).reinterpretAsFloats().fma(xv, a1);
                a2 = HalfFloats.float16Bits(w, r2 + o).reinterpretAsFloats().fma(xv, a2);
                a3 = HalfFloats.float16Bits(w, r3 + o).reinterpretAsFloats().fma(xv, a3);
            }
            out[outOffset] = HalfFloats.sum(a0);
            out[outOffset + 1] = HalfFloats.sum(a1);
            out[outOffset + 2] = HalfFloats.sum(a2);
            out[outOffset + 3] = HalfFloats.sum(a3);
        }

        /** fp16 rows without inf or NaN widen in three operations and a multiply; others the exact way. */
        @Override
        void widenRows(int r0, int count, MemorySegment dst, long offset) {
            if (bfloat || cols % HalfFloats.LANES != 0) {
                super.widenRows(r0, count, dst, offset);
                return;
            }
            for (int r = r0; r < r0 + count; r++) {
                boolean finite = r / GROUP < groups.length ? finiteGroup(r - r % GROUP)
                        : !HalfFloats.anyInfOrNan(data, (long) r * cols * 2, cols);
                if (!finite) {
                    super.widenRows(r, 1, dst, offset + (long) (r - r0) * cols * 4);
                    continue;
                }
                long src = (long) r * cols * 2;
                long out = offset + (long) (r - r0) * cols * 4;
                for (int c = 0; c < cols; c += HalfFloats.LANES) {
                    HalfFloats.float16Bits(data, src + 2L * c).reinterpretAsFloats().mul(TWO_POW_112)
                            .intoMemorySegment(dst, out + 4L * c, ByteOrder.LITTLE_ENDIAN);
                }
            }
        }

        /**
         * Whether rows r .. r+3 hold only finite values; scanned on first use (the rows are about
         * to be read anyway, and stay in L2 for the product that follows), then remembered.
         * Racing threads may both scan a group and store the same answer: a benign race, like
         * {@code String.hashCode}'s.
         */
        private boolean finiteGroup(int r) {
            int g = r / GROUP;
            byte state = groups[g];
            if (state == UNKNOWN) {
                state = HalfFloats.anyInfOrNan(data, (long) r * cols * 2, (long) GROUP * cols) ? SPECIAL : FINITE;
                groups[g] = state;
            }
            return state == FINITE;
        }
    }

    static final class Segment32 extends WeightMatrix {
        private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private final MemorySegment data;

        Segment32(MemorySegment data, int rows, int cols) {
            super(rows, cols);
            this.data = data;
        }

        @Override
        FloatVector vector(int r, int c) {
            return FloatVector.fromMemorySegment(HalfFloats.F, data, ((long) r * cols + c) * 4, ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        float get(int r, int c) {
            return data.getAtIndex(LE, (long) r * cols + c);
        }

        @Override
        float dot(int r, float[] x, int xOffset) {
            long row = (long) r * cols * 4;
            int kv = cols - cols % HalfFloats.LANES;
            FloatVector acc = FloatVector.zero(HalfFloats.F);
            for (int c = 0; c < kv; c += HalfFloats.LANES) {
                acc = FloatVector.fromArray(HalfFloats.F, x, xOffset + c)
                        .fma(FloatVector.fromMemorySegment(HalfFloats.F, data, row + 4L * c, ByteOrder.LITTLE_ENDIAN), acc);
            }
            float sum = HalfFloats.sum(acc);
            for (int c = kv; c < cols; c++) {
                sum += x[xOffset + c] * get(r, c);
            }
            return sum;
        }
    }

    static final class Heap32 extends WeightMatrix {
        private final float[] values;

        Heap32(float[] values, int rows, int cols) {
            super(rows, cols);
            this.values = values;
        }

        @Override
        FloatVector vector(int r, int c) {
            return FloatVector.fromArray(HalfFloats.F, values, r * cols + c);
        }

        @Override
        float get(int r, int c) {
            return values[r * cols + c];
        }

        @Override
        float dot(int r, float[] x, int xOffset) {
            return Gemm.dot(x, xOffset, values, r * cols, cols);
        }

        @Override
        float[] heapArray() {
            return values;
        }
    }

    /**
     * Int8 blocks ({@link Q8Tensor}): {@code W[r, c] = q[r, c] * s[r, c / 32]}. The decode kernel
     * multiplies a block's 32 int8 values, widened in registers, by x first and applies the scale
     * once per block.
     */
    static final class Q8 extends WeightMatrix {
        private static final int BLOCK = Q8Quantizer.BLOCK;
        private static final int LANES = HalfFloats.LANES;
        /** Bytes per load: two float vectors' worth (one load per block with 16 lanes, two with 8, four with 4). */
        private static final int PER_LOAD = 2 * LANES;
        private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(PER_LOAD * 8));
        private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        static {
            if (BLOCK % PER_LOAD != 0) {
                throw new AssertionError("a q8 block of " + BLOCK + " is not a whole number of " + PER_LOAD + "-byte loads");
            }
        }

        private final MemorySegment values;
        private final MemorySegment scales;
        private final int blocks;

        Q8(MemorySegment values, MemorySegment scales, int rows, int cols) {
            super(rows, cols);
            this.values = values;
            this.scales = scales;
            this.blocks = Q8Quantizer.blocks(cols);
        }

        private float scale(int r, int block) {
            return Float.float16ToFloat(scales.getAtIndex(LE, (long) r * blocks + block));
        }

        /** Lanes {@code part * LANES ..} of a {@link #PER_LOAD}-byte load, as floats. */
        private static FloatVector widen(ByteVector q, int part) {
            return (FloatVector) q.convertShape(VectorOperators.B2F, HalfFloats.F, part);
        }

        @Override
        FloatVector vector(int r, int c) {
            int load = c - c % PER_LOAD;
            if (c % LANES != 0 || load + PER_LOAD > cols) {
                // Off a vector boundary (never from the kernels, whose c are multiples of LANES), or
                // in a row's last partial block, where a whole load would pass the row's end.
                float[] lanes = new float[LANES];
                for (int i = 0; i < lanes.length; i++) {
                    lanes[i] = get(r, c + i);
                }
                return FloatVector.fromArray(HalfFloats.F, lanes, 0);
            }
            ByteVector q = ByteVector.fromMemorySegment(BYTES, values, (long) r * cols + load, ByteOrder.LITTLE_ENDIAN);
            return widen(q, c % PER_LOAD / LANES).mul(scale(r, c / BLOCK));
        }

        @Override
        float get(int r, int c) {
            return values.get(ValueLayout.JAVA_BYTE, (long) r * cols + c) * scale(r, c / BLOCK);
        }

        @Override
        float dot(int r, float[] x, int xOffset) {
            MemorySegment q8 = values;
            MemorySegment s16 = scales;
            long row = (long) r * cols;
            long scaleRow = (long) r * blocks;
            int full = cols / BLOCK;
            FloatVector acc = FloatVector.zero(HalfFloats.F);
            for (int b = 0; b < full; b++) {
                int c = b * BLOCK;
                ByteVector q = ByteVector.fromMemorySegment(BYTES, q8, row + c, ByteOrder.LITTLE_ENDIAN);
                FloatVector block = FloatVector.fromArray(HalfFloats.F, x, xOffset + c).mul(widen(q, 0));
                block = FloatVector.fromArray(HalfFloats.F, x, xOffset + c + LANES).fma(widen(q, 1), block);
                for (int j = PER_LOAD; j < BLOCK; j += PER_LOAD) {
                    q = ByteVector.fromMemorySegment(BYTES, q8, row + c + j, ByteOrder.LITTLE_ENDIAN);
                    block = FloatVector.fromArray(HalfFloats.F, x, xOffset + c + j).fma(widen(q, 0), block);
                    block = FloatVector.fromArray(HalfFloats.F, x, xOffset + c + j + LANES).fma(widen(q, 1), block);
                }
                float s = Float.float16ToFloat(s16.getAtIndex(LE, scaleRow + b));
                acc = block.fma(FloatVector.broadcast(HalfFloats.F, s), acc);
            }
            float sum = HalfFloats.sum(acc);
            if (full < blocks) {
                float tail = 0;
                for (int c = full * BLOCK; c < cols; c++) {
                    tail += x[xOffset + c] * values.get(ValueLayout.JAVA_BYTE, row + c);
                }
                sum += tail * scale(r, full);
            }
            return sum;
        }

        @Override
        void widenRows(int r0, int count, MemorySegment dst, long offset) {
            int full = cols / BLOCK;
            for (int r = r0; r < r0 + count; r++) {
                long row = (long) r * cols;
                long out = offset + (long) (r - r0) * cols * 4;
                for (int b = 0; b < full; b++) {
                    FloatVector s = FloatVector.broadcast(HalfFloats.F, scale(r, b));
                    for (int c = b * BLOCK; c < (b + 1) * BLOCK; c += PER_LOAD) {
                        ByteVector q = ByteVector.fromMemorySegment(BYTES, values, row + c, ByteOrder.LITTLE_ENDIAN);
                        widen(q, 0).mul(s).intoMemorySegment(dst, out + 4L * c, ByteOrder.LITTLE_ENDIAN);
                        widen(q, 1).mul(s).intoMemorySegment(dst, out + 4L * (c + LANES), ByteOrder.LITTLE_ENDIAN);
                    }
                }
                for (int c = full * BLOCK; c < cols; c++) {
                    dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, out + 4L * c, get(r, c));
                }
            }
        }
    }
}
