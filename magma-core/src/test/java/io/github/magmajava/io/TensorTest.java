package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** A tensor's shape accessors, its float views per dtype, and the dtype table. */
class TensorTest {
    private static MemorySegment littleEndian(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return MemorySegment.ofArray(b.array());
    }

    @Test
    void shapeAccessorsAndDescriptions() {
        Tensor t = new Tensor("ln.weight", DType.FLOAT32, new long[] {2, 3}, littleEndian(1, 2, 3, 4, 5, 6));
        assertThat(t.rank()).isEqualTo(2);
        assertThat(t.dim(0)).isEqualTo(2);
        assertThat(t.dim(1)).isEqualTo(3);
        assertThat(t.numel()).isEqualTo(6);
        assertThat(t.hasShape(2, 3)).isTrue();
        assertThat(t.hasShape(3, 2)).isFalse();
        assertThat(t.hasShape(6)).isFalse();
        assertThat(t.describe()).isEqualTo("float32[2, 3]");
        assertThat(t.toString()).isEqualTo("ln.weight float32[2, 3]");
        assertThat(t.withName("x").toString()).isEqualTo("x float32[2, 3]");
        Tensor scalar = new Tensor("s", DType.FLOAT32, new long[0], littleEndian(7));
        assertThat(scalar.rank()).isZero();
        assertThat(scalar.describe()).isEqualTo("float32[]");
    }

    @Test
    void float32ArraysAreLittleEndianCopies() {
        MemorySegment data = littleEndian(1.5f, -2f, 1e-8f);
        Tensor t = new Tensor("w", DType.FLOAT32, new long[] {3}, data);
        float[] copy = t.toFloatArray();
        assertThat(copy).containsExactly(1.5f, -2f, 1e-8f);
        copy[0] = 9;
        assertThat(t.getFloat(0)).isEqualTo(1.5f);
    }

    @Test
    void otherDtypesWidenToFloat() {
        byte[] half = {0, 0x3c, 0, (byte) 0xc0}; // 1, -2 in float16
        assertThat(new Tensor("h", DType.FLOAT16, new long[] {2}, MemorySegment.ofArray(half)).toFloatArray())
                .containsExactly(1f, -2f);
        byte[] bf16 = {(byte) 0x80, 0x3f, 0, (byte) 0xc0}; // 1, -2 in bfloat16
        assertThat(new Tensor("b", DType.BFLOAT16, new long[] {2}, MemorySegment.ofArray(bf16)).toFloatArray())
                .containsExactly(1f, -2f);
        byte[] bools = {0, 1, 2};
        assertThat(new Tensor("m", DType.BOOL, new long[] {3}, MemorySegment.ofArray(bools)).toFloatArray())
                .containsExactly(0f, 1f, 1f);
        byte[] int8 = {-128, 0, 127};
        assertThat(new Tensor("q", DType.INT8, new long[] {3}, MemorySegment.ofArray(int8)).toFloatArray())
                .containsExactly(-128f, 0f, 127f);
    }

    @Test
    void theDataMustMatchTheShape() {
        assertThatThrownBy(() -> new Tensor("w", DType.FLOAT16, new long[] {2, 2}, MemorySegment.ofArray(new byte[6])))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tensor w: float16[2, 2] needs 4 x 2 bytes, the data has 6");
        assertThatThrownBy(() -> Tensor.numel(new long[] {2, -1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("negative dimension in shape [2, -1]");
    }

    @Test
    void dtypesAreSpelledAsTorchAndSafetensorsSpellThem() {
        assertThat(DType.FLOAT16.torchStorage()).isEqualTo("HalfStorage");
        assertThat(DType.BFLOAT16.torchStorage()).isEqualTo("BFloat16Storage");
        assertThat(DType.fromTorchStorage("FloatStorage")).contains(DType.FLOAT32);
        assertThat(DType.fromTorchStorage("IntStorage")).isEmpty();
        assertThat(DType.fromSafetensors("BF16")).contains(DType.BFLOAT16);
        assertThat(DType.INT64.safetensorsName()).isEqualTo("I64");
        assertThat(DType.values()).filteredOn(DType::isFloatingPoint)
                .containsExactly(DType.FLOAT16, DType.BFLOAT16, DType.FLOAT32);
    }
}
