package io.github.magmajava.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The machine's read bandwidth, the ceiling of every decode GEMV: a vectorized float sum over a
 * native segment far larger than the last-level cache, split into one contiguous slice per thread.
 * GB/s = {@link #BYTES} / time.
 */
@State(Scope.Benchmark)
public class MemoryBandwidth extends BenchmarkSettings {
    /** 512 MiB: larger than any weight matrix but the LM head, and than any CPU cache. */
    public static final long BYTES = 512L << 20;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment data;
    private ForkJoinPool pool;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        data = arena.allocate(BYTES, 64);
        for (long i = 0; i < BYTES / 4; i++) {
            data.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
        }
        pool = new ForkJoinPool(threads);
    }

    @TearDown
    public void tearDown() {
        pool.shutdown();
        arena.close();
    }

    @Benchmark
    public float sum() {
        long slice = BYTES / threads;
        return pool.submit(() -> IntStream.range(0, threads).parallel()
                .mapToObj(t -> sumSlice(data.asSlice(t * slice, slice)))
                .reduce(0f, Float::sum)).join();
    }

    /** Four independent accumulators keep enough loads in flight to saturate memory, not the adder. */
    private static float sumSlice(MemorySegment s) {
        long step = F.vectorByteSize();
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long end = s.byteSize() - s.byteSize() % (4 * step);
        ByteOrder order = ByteOrder.nativeOrder();
        for (long off = 0; off < end; off += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, off, order));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, off + step, order));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, off + 2 * step, order));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, off + 3 * step, order));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
