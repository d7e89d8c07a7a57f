package io.github.magmajava.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;

/**
 * This machine's memory read bandwidth as a streaming kernel sees it: every thread sums its share
 * of a buffer much larger than the caches, 64 bytes per load. The yardstick for decode, which
 * reads every weight once per token.
 */
public final class ReadBandwidth {
    private static final int WARM_UP_CALLS = 20_000;

    private ReadBandwidth() {
    }

    /** Best of {@code repeats} passes over a {@code bytes}-sized native buffer, in GB/s (1e9 bytes). */
    public static double measure(long bytes, int threads, int repeats) {
        long perThread = bytes / threads / 64 * 64;
        ForkJoinPool pool = new ForkJoinPool(threads);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(perThread * threads, 64);
            buffer.fill((byte) 1);
            float[] sink = new float[threads];
            // Compiled first: the Vector API is ~100x slower before C2, and a best-of-5 that still
            // included interpreted passes would understate the bandwidth (35 instead of 55 GB/s
            // was seen), flattering every efficiency computed against it.
            MemorySegment cached = buffer.asSlice(0, Math.min(buffer.byteSize(), 256 << 10));
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                sink[0] += sum(cached);
            }
            double best = 0;
            for (int r = 0; r < repeats; r++) {
                long start = System.nanoTime();
                pool.submit(() -> IntStream.range(0, threads).parallel()
                        .forEach(t -> sink[t] += sum(buffer.asSlice(t * perThread, perThread)))).join();
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.max(best, perThread * threads / seconds / 1e9);
            }
            if (Float.isNaN(sink[0])) {
                throw new AssertionError("unreachable: keeps the sums alive");
            }
            return best;
        } finally {
            pool.shutdown();
        }
    }

    private static float sum(MemorySegment s) {
        FloatVector a0 = FloatVector.zero(HalfFloats.F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long n = s.byteSize();
        int v = HalfFloats.F.vectorByteSize();
        for (long off = 0; off + 4L * v <= n; off += 4L * v) {
            a0 = a0.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + v, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + 2L * v, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + 3L * v, ByteOrder.LITTLE_ENDIAN));
        }
        return HalfFloats.sum(a0.add(a1).add(a2).add(a3));
    }
}
