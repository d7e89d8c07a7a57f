package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

/**
 * The oneDNN side of one {@link CpuBackend}: makes its Linear layers (many rows on oneDNN, few on
 * the pure-Java GEMM) and convolutions, and lends them native scratch buffers. Closing frees the
 * idle scratch buffers; one still lent out is freed when it comes back, so a call in flight never
 * reads freed memory. Thread-safe.
 */
final class Nd4jKernels implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Nd4jKernels.class.getName());

    private static final AtomicBoolean BF16_REFUSAL_LOGGED = new AtomicBoolean();
    private static final AtomicBoolean MISSING_JARS_LOGGED = new AtomicBoolean();

    private final OneDnnMode mode;
    private final String build;
    private final ForkJoinPool pool;
    private final ConcurrentLinkedDeque<Nd4jScratch> idle = new ConcurrentLinkedDeque<>();
    private final AtomicBoolean failureLogged = new AtomicBoolean();
    private volatile boolean closed;
    /** Folded convolution weights of every model on this backend, in huge pages. */
    private final HugePages.Slab convWeights = new HugePages.Slab();

    private final SpinningWorkers decode;
    private final int minRows;

    private Nd4jKernels(OneDnnMode mode, String build, ForkJoinPool pool, SpinningWorkers decode, int minRows) {
        this.mode = mode;
        this.build = build;
        this.pool = pool;
        this.decode = decode;
        this.minRows = minRows > 0 ? minRows : this.mode == OneDnnMode.BF16 ? Nd4jLinear.MIN_ROWS : Nd4jLinear.FP32_MIN_ROWS;
    }

    /**
     * The oneDNN kernels in {@code mode} ({@link OneDnnMode#FP32} for BF16 where oneDNN has no
     * bfloat16 matmul), or empty when the mode is {@link OneDnnMode#OFF} or nd4j cannot run here
     * (its jars missing, another OS or CPU, a failed load: one log line).
     */
    static Optional<Nd4jKernels> open(OneDnnMode mode, ForkJoinPool pool, SpinningWorkers decode) {
        return open(mode, pool, decode, 0);
    }

    /** With {@code minRows} rows from which Linear layers run on oneDNN (0: the mode's measured default). */
    static Optional<Nd4jKernels> open(OneDnnMode mode, ForkJoinPool pool, SpinningWorkers decode, int minRows) {
        if (mode == OneDnnMode.OFF) {
            return Optional.empty();
        }
        try {
            return Nd4jRuntime.get().map(runtime -> new Nd4jKernels(effectiveMode(mode, runtime), runtime.classifier(), pool, decode, minRows));
        } catch (LinkageError e) { // nd4j's jars are not on the class path
            if (MISSING_JARS_LOGGED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "oneDNN kernels (nd4j) unavailable, the CPU backend uses its pure-Java kernels: " + e);
            }
            return Optional.empty();
        }
    }

    /** BF16 where oneDNN has bfloat16 matmuls; FP32 (after one log line per process) where it has not. */
    private static OneDnnMode effectiveMode(OneDnnMode mode, Nd4jRuntime runtime) {
        if (mode != OneDnnMode.BF16 || runtime.supportsBf16()) {
            return mode;
        }
        if (BF16_REFUSAL_LOGGED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "oneDNN has no bfloat16 matmul on this CPU (it needs AVX-512): prefill runs in float32");
        }
        return OneDnnMode.FP32;
    }

    /** Rows from which a Linear layer runs on oneDNN rather than the pure-Java kernels. */
    int minRows() {
        return minRows;
    }

    OneDnnMode mode() {
        return mode;
    }

    /** The nd4j build in use, as its Maven classifier. */
    String build() {
        return build;
    }

    Linear linear(WeightMatrix weight, float[] bias) {
        return new Nd4jLinear(weight, bias, this);
    }

    Conv2d conv2d(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding) {
        return new Nd4jConv(weight, bias, in, out, kernel, stride, padding, this, convWeights);
    }

    SpinningWorkers decode() {
        return decode;
    }

    ForkJoinPool pool() {
        return pool;
    }

    /** The backend's thread count, which oneDNN's OpenMP teams follow too. */
    int threads() {
        return pool.getParallelism();
    }

    /** {@code body(0 .. tasks-1)} on the backend's workers. */
    void parallelFor(int tasks, IntConsumer body) {
        Tasks.run(pool, tasks, body);
    }

    Nd4jScratch borrow() {
        if (closed) {
            throw new IllegalStateException("the CPU backend is closed");
        }
        Nd4jScratch s = idle.pollFirst();
        return s != null ? s : new Nd4jScratch();
    }

    void giveBack(Nd4jScratch scratch) {
        if (closed) {
            scratch.close();
            return;
        }
        idle.addFirst(scratch);
        if (closed && idle.remove(scratch)) {
            scratch.close();
        }
    }

    /** Logs the first failure of a native call; the caller then falls back or rethrows. */
    void reportFailure(String what, RuntimeException e) {
        if (failureLogged.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "oneDNN " + what + " failed (" + e + "); falling back to the pure-Java kernel where one exists");
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Nd4jScratch s = idle.pollFirst(); s != null; s = idle.pollFirst()) {
            s.close();
        }
    }
}
