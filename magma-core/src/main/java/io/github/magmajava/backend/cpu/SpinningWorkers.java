package io.github.magmajava.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Low-latency hand-off for the decode GEMVs: a token runs ~250 of them, a few hundred
 * microseconds to a few milliseconds each, and waking a parked fork-join worker took 100-120 us
 * on the project's VM. Here the caller works too, and the helpers spin for a short while after
 * each job before they park, so the next GEMV finds them awake. One job at a time: a caller that
 * finds the workers busy (another request decoding on the same backend) gets false and uses the
 * fork-join pool instead. Tasks are taken in any order by any thread; callers' results must not
 * depend on which thread runs a task (the GEMV's rows do not).
 */
final class SpinningWorkers implements AutoCloseable {
    /** How long an idle helper spins before parking: longer than the gaps inside a decode step. */
    private static final long SPIN_NANOS = 300_000;
    /** A helper idle this long ends (the next job starts it again): no threads left behind by an unclosed backend. */
    private static final long IDLE_EXIT_NANOS = 30_000_000_000L;

    private final long idleExitNanos;

    private final Thread[] helpers;
    private final ReentrantLock busy = new ReentrantLock();
    private volatile Job job;
    private volatile boolean closed;

    private static final class Job {
        final int tasks;
        final IntConsumer body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(int tasks, IntConsumer body) {
            this.tasks = tasks;
            this.body = body;
        }

        void work() {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                try {
                    body.accept(t);
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    /** {@code threads} threads in all: the caller and {@code threads - 1} helpers (daemons). */
    SpinningWorkers(int threads) {
        this(threads, IDLE_EXIT_NANOS);
    }

    SpinningWorkers(int threads, long idleExitNanos) {
        this.helpers = new Thread[Math.max(0, threads - 1)];
        this.idleExitNanos = idleExitNanos;
    }

    /** Helper threads alive now (they start with the first job and end after a long idle spell). */
    int liveHelpers() {
        busy.lock();
        try {
            int alive = 0;
            for (Thread helper : helpers) {
                alive += helper != null && helper.isAlive() ? 1 : 0;
            }
            return alive;
        } finally {
            busy.unlock();
        }
    }

    /**
     * Runs {@code body} for tasks 0 .. tasks-1 and returns true, or returns false at once when
     * another caller is running a job. A task's exception is rethrown here after all tasks ended.
     */
    boolean tryRun(int tasks, IntConsumer body) {
        if (closed || !busy.tryLock()) {
            return false;
        }
        try {
            Job j = new Job(tasks, body);
            job = j;
            for (int i = 0; i < helpers.length; i++) {
                if (helpers[i] == null || !helpers[i].isAlive()) {
                    helpers[i] = Thread.ofPlatform().daemon().name("magma-decode-" + i).start(this::helperLoop);
                } else {
                    LockSupport.unpark(helpers[i]);
                }
            }
            j.work();
            while (j.done.get() < tasks) {
                Thread.onSpinWait();
            }
            job = null;
            Throwable failure = j.failure;
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
            return true;
        } finally {
            busy.unlock();
        }
    }

    private void helperLoop() {
        Job last = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job j = job;
            if (j != null && j != last) {
                last = j;
                j.work();
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else if (System.nanoTime() - idleSince > idleExitNanos) {
                return;
            } else {
                // Woken by the next job's unpark (a permit given before this park makes it return at once).
                LockSupport.parkNanos(this, idleExitNanos);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        busy.lock();
        try {
            for (Thread helper : helpers) {
                if (helper != null) {
                    LockSupport.unpark(helper);
                }
            }
        } finally {
            busy.unlock();
        }
    }
}
