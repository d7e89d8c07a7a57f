package io.github.magmajava.backend.cpu;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * A read-only [rows, cols] matrix in its stored format (fp16/bf16 as mapped, or fp32), read as
 * float vectors. Kernels never copy a whole weight: they widen the chunk they need.
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

    /** {@link HalfFloats#LANES} values of row {@code r} from column {@code c} (c + LANES <= cols). */
    abstract FloatVector vector(int r, int c);

    abstract float get(int r, int c);

    /** Row {@code r} widened into {@code dst[offset ..]}. */
    void widenRow(int r, float[] dst, int offset) {
        int c = 0;
        for (int bound = cols - HalfFloats.LANES; c <= bound; c += HalfFloats.LANES) {
            vector(r, c).intoArray(dst, offset + c);
        }
        for (; c < cols; c++) {
            dst[offset + c] = get(r, c);
        }
    }

    /** The backing array when the matrix already is fp32 on the heap (no widening needed). */
    float[] heapArray() {
        return null;
    }

    static final class Half extends WeightMatrix {
        private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private final MemorySegment data;
        private final boolean bfloat;

        Half(MemorySegment data, int rows, int cols, boolean bfloat) {
            super(rows, cols);
            this.data = data;
            this.bfloat = bfloat;
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
        float[] heapArray() {
            return values;
        }
    }
}
