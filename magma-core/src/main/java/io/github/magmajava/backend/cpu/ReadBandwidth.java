package io.github.magmajava.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;

/**
 * This machine's memory read bandwidth as a streaming kernel sees it: the best rate over several
 * ways of reading a buffer much larger than the caches, so that "percent of bandwidth" is measured
 * against what the machine can stream, not against one probe's shortfall. The yardstick for
 * decode, which reads every weight once per token.
 */
public final class ReadBandwidth {
    private static final int WARM_UP_CALLS = 20_000;
    /** Blocks handed round-robin to the threads in {@link Pattern#INTERLEAVED}, as decode hands out rows. */
    private static final long BLOCK = 1 << 20;

    /** How the threads share the buffer. */
    public enum Pattern {
        /** One contiguous slice per thread, read front to back. */
        SLICES,
        /** One slice per thread, read as two streams at once (front and middle): more misses in flight. */
        TWO_STREAMS,
        /** 1 MiB blocks dealt round-robin: every thread reads a block, then its next. */
        INTERLEAVED
    }

    /**
     * One way of reading, and its best pass.
     *
     * @param prefetchBytes how far ahead each stream touches one byte (0: the hardware prefetchers alone)
     */
    public record Probe(int threads, Pattern pattern, int prefetchBytes, double gigabytesPerSecond) {
    }

    /** Every probe tried, and the best. */
    public record Result(List<Probe> probes) {
        public Result {
            probes = List.copyOf(probes);
        }

        public Probe best() {
            return probes.stream().max(java.util.Comparator.comparingDouble(Probe::gigabytesPerSecond)).orElseThrow();
        }

        /** The best rate in GB/s (1e9 bytes). */
        public double gigabytesPerSecond() {
            return best().gigabytesPerSecond();
        }
    }

    private ReadBandwidth() {
    }

    /** The best of {@link #probe}: GB/s (1e9 bytes). */
    public static double measure(long bytes, int threads, int repeats) {
        return probe(bytes, threads, repeats).gigabytesPerSecond();
    }

    /**
     * Best of {@code repeats} passes over a {@code bytes}-sized native buffer for 1, 2, 4, ... and
     * {@code threads} threads, every {@link Pattern}, and software prefetch off or 1 KiB / 4 KiB
     * ahead.
     */
    public static Result probe(long bytes, int threads, int repeats) {
        long size = bytes / (2L * threads * BLOCK) * (2L * threads * BLOCK);
        if (size == 0) {
            throw new IllegalArgumentException("bandwidth buffer of " + bytes + " bytes is below " + 2L * threads * BLOCK);
        }
        List<Probe> probes = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(size, 64);
            buffer.fill((byte) 1);
            float[] sink = new float[1];
            // Compiled first: the Vector API is ~100x slower before C2, and a best-of that still
            // included interpreted passes would understate the bandwidth (35 instead of 55 GB/s
            // was seen), flattering every efficiency computed against it.
            MemorySegment cached = buffer.asSlice(0, 256 << 10);
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                sink[0] += sum(cached, 0) + sum(cached, 1024) + sumTwoStreams(cached, 0) + sumTwoStreams(cached, 1024);
            }
            for (int t = 1; t <= threads; t = t == threads ? threads + 1 : Math.min(2 * t, threads)) {
                ForkJoinPool pool = new ForkJoinPool(t);
                try {
                    for (Pattern pattern : Pattern.values()) {
                        for (int prefetch : new int[] {0, 1024, 4096}) {
                            probes.add(new Probe(t, pattern, prefetch, best(pool, buffer, t, pattern, prefetch, repeats, sink)));
                        }
                    }
                } finally {
                    pool.shutdown();
                }
            }
            if (Float.isNaN(sink[0])) {
                throw new AssertionError("unreachable: keeps the sums alive");
            }
        }
        return new Result(probes);
    }

    private static double best(ForkJoinPool pool, MemorySegment buffer, int threads, Pattern pattern, int prefetch, int repeats,
            float[] sink) {
        long size = buffer.byteSize();
        long perThread = size / threads;
        double best = 0;
        for (int r = 0; r < repeats; r++) {
            long start = System.nanoTime();
            float s = pool.submit(() -> IntStream.range(0, threads).parallel().mapToObj(t -> switch (pattern) {
                case SLICES -> sum(buffer.asSlice(t * perThread, perThread), prefetch);
                case TWO_STREAMS -> sumTwoStreams(buffer.asSlice(t * perThread, perThread), prefetch);
                case INTERLEAVED -> {
                    float acc = 0;
                    for (long off = t * BLOCK; off < size; off += threads * BLOCK) {
                        acc += sum(buffer.asSlice(off, BLOCK), prefetch);
                    }
                    yield acc;
                }
            }).reduce(0f, Float::sum)).join();
            double seconds = (System.nanoTime() - start) / 1e9;
            sink[0] += s;
            best = Math.max(best, size / seconds / 1e9);
        }
        return best;
    }

    /** Four accumulators keep loads in flight; a byte {@code prefetch} ahead is touched per 4 vectors. */
    private static float sum(MemorySegment s, int prefetch) {
        FloatVector a0 = FloatVector.zero(HalfFloats.F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long n = s.byteSize();
        int v = HalfFloats.F.vectorByteSize();
        byte touched = 0;
        for (long off = 0; off + 4L * v <= n; off += 4L * v) {
            if (prefetch > 0 && off + prefetch < n) {
                touched ^= s.get(ValueLayout.JAVA_BYTE, off + prefetch);
            }
            a0 = a0.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + v, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + 2L * v, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + 3L * v, ByteOrder.LITTLE_ENDIAN));
        }
        return HalfFloats.sum(a0.add(a1).add(a2).add(a3)) + touched;
    }

    /** As {@link #sum}, the two halves of {@code s} read at once. */
    private static float sumTwoStreams(MemorySegment s, int prefetch) {
        FloatVector a0 = FloatVector.zero(HalfFloats.F);
        FloatVector a1 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        long half = s.byteSize() / 2 / 64 * 64;
        int v = HalfFloats.F.vectorByteSize();
        byte touched = 0;
        for (long off = 0; off + 2L * v <= half; off += 2L * v) {
            if (prefetch > 0 && off + prefetch < half) {
                touched ^= s.get(ValueLayout.JAVA_BYTE, off + prefetch);
                touched ^= s.get(ValueLayout.JAVA_BYTE, half + off + prefetch);
            }
            a0 = a0.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(HalfFloats.F, s, off + v, ByteOrder.LITTLE_ENDIAN));
            b0 = b0.add(FloatVector.fromMemorySegment(HalfFloats.F, s, half + off, ByteOrder.LITTLE_ENDIAN));
            b1 = b1.add(FloatVector.fromMemorySegment(HalfFloats.F, s, half + off + v, ByteOrder.LITTLE_ENDIAN));
        }
        return HalfFloats.sum(a0.add(a1).add(b0).add(b1)) + touched;
    }
}
