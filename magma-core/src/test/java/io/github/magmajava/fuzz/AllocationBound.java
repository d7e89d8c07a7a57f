package io.github.magmajava.fuzz;

import java.lang.management.ManagementFactory;

/**
 * The heap bytes one parse allocates on the calling thread, checked against a bound linear in the
 * input's size: a parser that allocates what a header claims rather than what the input holds
 * fails here long before it would fail with an OutOfMemoryError.
 *
 * <p>Measured with {@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}: TLAB
 * granular, so the bound has a fixed allowance on top of the factor.
 */
public final class AllocationBound {
    /** Bytes a parse may allocate per input byte. */
    public static final long FACTOR = 64;
    /** Bytes any parse may allocate whatever its input (lookup tables, JSON parsers, the result's frame). */
    public static final long ALLOWANCE = 32L << 20;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** A parse, its documented exceptions handled. */
    @FunctionalInterface
    public interface Parse {
        void run() throws Exception;
    }

    private AllocationBound() {
    }

    /** Runs {@code parse} of {@code inputBytes} bytes, checked against the bound with {@link #ALLOWANCE}. */
    public static void check(String what, long inputBytes, Parse parse) throws Exception {
        check(what, inputBytes, ALLOWANCE, parse);
    }

    /**
     * Runs {@code parse} and fails when it allocated more than {@code FACTOR * inputBytes +
     * allowance}. A parse over the bound runs once more and only the second (warm) one counts:
     * the first run of a code path also allocates its classes' one-time initialization.
     */
    public static void check(String what, long inputBytes, long allowance, Parse parse) throws Exception {
        long limit = FACTOR * inputBytes + allowance;
        long allocated = measure(parse);
        if (allocated > limit) {
            allocated = measure(parse);
            if (allocated > limit) {
                throw new AssertionError(what + " of " + inputBytes + " bytes allocated " + allocated
                        + " bytes, more than " + FACTOR + " x the input + " + (allowance >> 20) + " MiB");
            }
        }
    }

    private static long measure(Parse parse) throws Exception {
        long start = THREADS.getCurrentThreadAllocatedBytes();
        parse.run();
        return THREADS.getCurrentThreadAllocatedBytes() - start;
    }
}
