package io.github.magmajava.ipu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One device's memory: a single native allocation of a fixed size, filled phase by phase. A
 * phase stages its shards into it from the bottom up and reserves its activation and KV cache
 * bytes; the next phase starts again from the bottom. Asking for more than is left is a
 * {@link DeviceMemoryException}, never growth. Used by one phase at a time ({@link IpuBackend}
 * runs phases under a lock).
 */
final class DeviceMemory implements AutoCloseable {
    private static final long ALIGNMENT = 64;
    private final int device;
    private final long capacity;
    private final Arena arena;
    private final MemorySegment memory;
    private String phase = "none";
    private long used;

    DeviceMemory(int device, long capacity) {
        this.device = device;
        this.capacity = capacity;
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(Math.max(capacity, 1), ALIGNMENT);
    }

    long capacity() {
        return capacity;
    }

    long used() {
        return used;
    }

    /** Frees everything the last phase held. */
    void begin(String phaseName) {
        this.phase = phaseName;
        this.used = 0;
    }

    /**
     * The next {@code bytes} of this device's memory, for {@code what}. Packed without padding, so
     * the plan's bytes are exactly what is used: the kernels read through unaligned accesses.
     */
    MemorySegment allocate(long bytes, String what) {
        long start = used;
        take(bytes, what);
        return memory.asSlice(start, bytes);
    }

    /** Counts {@code bytes} the host computes in its own buffers on this device's behalf (activations, the KV cache). */
    void reserve(long bytes, String what) {
        take(bytes, what);
    }

    private void take(long bytes, String what) {
        if (bytes > capacity - used) {
            throw new DeviceMemoryException("phase '" + phase + "' needs " + (used + bytes) + " bytes on device " + device
                    + " (" + what + " is " + bytes + " more than the " + used + " in use), the device has " + capacity);
        }
        used += bytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
