package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HugePagesTest {
    @Test
    void largeBuffersAreZeroedAlignedWritableAndFreedWithTheirArena() {
        long bytes = (9L << 20) + 12;
        MemorySegment buffer;
        try (Arena arena = Arena.ofConfined()) {
            buffer = HugePages.allocate(arena, bytes);
            assertThat(buffer.byteSize()).isEqualTo(bytes);
            assertThat(buffer.address() % 64).isZero();
            for (long i = 0; i < bytes; i += 4093) {
                assertThat(buffer.get(ValueLayout.JAVA_BYTE, i)).isZero();
            }
            buffer.fill((byte) 7);
            assertThat(buffer.get(ValueLayout.JAVA_BYTE, bytes - 1)).isEqualTo((byte) 7);
        }
        assertThatThrownBy(() -> buffer.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void slabBuffersAreAlignedAndDisjoint() {
        HugePages.Slab slab = new HugePages.Slab();
        long[] sizes = {3, 64, 1000, 70L << 20, 5, 40L << 20, 30L << 20};
        MemorySegment[] buffers = new MemorySegment[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            buffers[i] = slab.allocate(sizes[i]);
            assertThat(buffers[i].byteSize()).isEqualTo(sizes[i]);
            assertThat(buffers[i].address() % 64).isZero();
            buffers[i].fill((byte) (i + 1));
        }
        for (int i = 0; i < sizes.length; i++) {
            assertThat(buffers[i].get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) (i + 1));
            assertThat(buffers[i].get(ValueLayout.JAVA_BYTE, sizes[i] - 1)).isEqualTo((byte) (i + 1));
        }
    }
}
