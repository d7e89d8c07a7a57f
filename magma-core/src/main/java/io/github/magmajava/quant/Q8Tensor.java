package io.github.magmajava.quant;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * One Linear weight [rows, cols] in block-wise int8: {@code W[r, c] ~ values[r, c] * scales[r, c / 32]}.
 * Every row is cut into blocks of {@link Q8Quantizer#BLOCK} consecutive input features (the last
 * one shorter when cols is not a multiple); each block has one float16 scale.
 *
 * @param name   the name of the source weight, e.g. {@code lm.lm_head.weight}
 * @param values int8 [rows, cols]
 * @param scales float16 [rows, blocks(cols)]
 */
public record Q8Tensor(String name, Tensor values, Tensor scales) {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** @throws IllegalArgumentException naming the tensor when the pair does not have these dtypes and shapes */
    public Q8Tensor {
        Objects.requireNonNull(name, "name");
        if (values.dtype() != DType.INT8 || values.rank() != 2) {
            throw new IllegalArgumentException("q8 values of " + name + " must be int8 [rows, cols], found " + values.describe());
        }
        long rows = values.dim(0);
        long cols = values.dim(1);
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("q8 weight " + name + " is too large: " + values.describe());
        }
        if (scales.dtype() != DType.FLOAT16 || !scales.hasShape(rows, Q8Quantizer.blocks((int) cols))) {
            throw new IllegalArgumentException("q8 scales of " + name + " must be float16 [" + rows + ", "
                    + Q8Quantizer.blocks((int) cols) + "] (one per " + Q8Quantizer.BLOCK + " values), found " + scales.describe());
        }
    }

    public int rows() {
        return (int) values.dim(0);
    }

    public int cols() {
        return (int) values.dim(1);
    }

    /** True when this is the quantized form of a weight with {@code shape}. */
    public boolean fits(long[] shape) {
        return shape.length == 2 && shape[0] == rows() && shape[1] == cols();
    }

    public float scale(int row, int block) {
        return Float.float16ToFloat(scales.data().getAtIndex(F16, (long) row * Q8Quantizer.blocks(cols()) + block));
    }

    /** The dequantized value {@code values[r, c] * scale}. */
    public float get(int row, int col) {
        return values.data().get(ValueLayout.JAVA_BYTE, (long) row * cols() + col) * scale(row, col / Q8Quantizer.BLOCK);
    }
}
