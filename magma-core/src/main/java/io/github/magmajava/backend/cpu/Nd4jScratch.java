package io.github.magmajava.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native buffers for one oneDNN call at a time (input, weight chunk, output), kept and grown
 * across calls so a prefill does not fault in fresh pages per layer. Lent out by
 * {@link Nd4jKernels}; used by one thread at a time, possibly a different one per call.
 */
final class Nd4jScratch implements AutoCloseable {
    static final int INPUT = 0;
    static final int WEIGHT = 1;
    static final int OUTPUT = 2;

    private final Arena[] arenas = new Arena[3];
    private final MemorySegment[] buffers = new MemorySegment[3];

    /** The first {@code bytes} of buffer {@code slot}, 64-byte aligned; contents are undefined. */
    MemorySegment buffer(int slot, long bytes) {
        if (buffers[slot] == null || buffers[slot].byteSize() < bytes) {
            if (arenas[slot] != null) {
                arenas[slot].close();
            }
            arenas[slot] = Arena.ofShared();
            buffers[slot] = HugePages.allocate(arenas[slot], Math.max(bytes, 64));
        }
        return buffers[slot].asSlice(0, bytes);
    }

    @Override
    public void close() {
        for (int i = 0; i < arenas.length; i++) {
            if (arenas[i] != null) {
                arenas[i].close();
                arenas[i] = null;
                buffers[i] = null;
            }
        }
    }
}
