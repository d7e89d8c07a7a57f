package io.github.magmajava.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A named, contiguous, row-major tensor whose elements live in a {@link MemorySegment}, usually a
 * read-only view on a memory-mapped checkpoint (no copy). Elements are little-endian, as torch
 * and safetensors write them. The segment is valid only while the file that owns it is open.
 */
public final class Tensor {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;

    /**
     * @throws IllegalArgumentException when the segment's size is not {@code numel(shape) * dtype.byteSize()}
     */
    public Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        long n = numel(this.shape);
        if (Math.multiplyHigh(n, dtype.byteSize()) != 0 || data.byteSize() != n * dtype.byteSize()) {
            throw new IllegalArgumentException("tensor " + name + ": " + dtype.torchName() + Arrays.toString(shape)
                    + " needs " + n + " x " + dtype.byteSize() + " bytes, the data has " + data.byteSize());
        }
        this.data = data;
    }

    /** The element count of a shape; negative dimensions or overflow are refused. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long numel() {
        return data.byteSize() / dtype.byteSize();
    }

    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /** The raw little-endian bytes (read-only when the tensor comes from a file). */
    public MemorySegment data() {
        return data;
    }

    /** This tensor under another name, sharing the data. */
    public Tensor withName(String newName) {
        return new Tensor(newName, dtype, shape, data);
    }

    /** Element {@code i} (flat, row-major) widened to float; int64, int8 and bool are converted. */
    public float getFloat(long i) {
        return switch (dtype) {
            case FLOAT16 -> Float.float16ToFloat(data.getAtIndex(F16, i));
            case BFLOAT16 -> Float.intBitsToFloat(data.getAtIndex(F16, i) << 16);
            case FLOAT32 -> data.getAtIndex(F32, i);
            case INT64 -> data.getAtIndex(I64, i);
            case INT8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case BOOL -> data.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1f : 0f;
        };
    }

    /** A heap copy of all elements as float; meant for small tensors (biases, norms, tests). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + name + " has " + n + " elements, too many for a float[]");
        }
        float[] out = new float[(int) n];
        if (dtype == DType.FLOAT32) {
            MemorySegment.copy(data, F32, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    /** {@code float16[4096, 4096]}, as a table would show it. */
    public String describe() {
        return dtype.torchName() + Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + describe();
    }
}
