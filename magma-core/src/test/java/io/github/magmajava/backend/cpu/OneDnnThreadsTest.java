package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * oneDNN's OpenMP threads follow the backend's thread count ({@code --threads}), per call.
 * Observed two ways: the OpenMP thread count the calling thread gets, and the threads that exist:
 * libgomp keeps a team of worker threads per calling thread, and Linux names a new thread after
 * the thread that made it, so the threads bearing a fresh caller's name are its OpenMP team.
 */
class OneDnnThreadsTest {
    private static final int K = 512;
    private static final int N = 512;
    /** At least Nd4jLinear.FP32_MIN_ROWS: the matmul must run on oneDNN. */
    private static final int ROWS = 128;

    private static void assumeOneDnn(CpuBackend backend) {
        assumeTrue(backend.oneDnnMode() != OneDnnMode.OFF, "nd4j's oneDNN build cannot run on this machine");
    }

    @Test
    @Timeout(120)
    void oneDnnRunsOnTheBackendsThreadCount() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux's /proc to count threads");
        int cores = Runtime.getRuntime().availableProcessors();
        for (int threads : new int[] {1, cores + 1}) { // both differ from OpenMP's default (one per core)
            try (CpuBackend backend = CpuBackend.withThreads(threads, OneDnnMode.FP32)) {
                assumeOneDnn(backend);
                Linear linear = backend.linear(weight(), null, Split.REPLICATED);
                Conv2d conv = backend.conv2d("conv", new float[32 * 16 * 9], new float[32], 16, 32, 3, 1, 1);
                String name = "omp-probe-" + threads; // Linux keeps 15 characters of a thread's name
                int[] seen = onNewThread(name, () -> {
                    linear.forward(new float[ROWS * K], ROWS, new float[ROWS * N]);
                    conv.forward(new float[16 * 40 * 40], 40, 40, new float[32 * 40 * 40]);
                    return new int[] {Nd4jRuntime.openMpThreads(), threadsNamed(name)};
                });
                assertThat(seen[0]).as("OpenMP threads of a caller of a %d-thread backend", threads).isEqualTo(threads);
                assertThat(seen[1]).as("the caller and its OpenMP team (%d-thread backend)", threads).isEqualTo(threads);
            }
        }
    }

    @Test
    @Timeout(120)
    void backendsWithDifferentCountsShareTheRuntime() throws Exception {
        try (CpuBackend one = CpuBackend.withThreads(1, OneDnnMode.FP32); CpuBackend three = CpuBackend.withThreads(3, OneDnnMode.FP32)) {
            assumeOneDnn(one);
            Linear small = one.linear(weight(), null, Split.REPLICATED);
            Linear large = three.linear(weight(), null, Split.REPLICATED);
            float[] x = new float[ROWS * K];
            Arrays.fill(x, 0.5f);
            float[] y1 = new float[ROWS * N];
            float[] y3 = new float[ROWS * N];
            int[] seen = onNewThread("omp-share", () -> {
                large.forward(x, ROWS, y3);
                int afterLarge = Nd4jRuntime.openMpThreads();
                small.forward(x, ROWS, y1);
                int afterSmall = Nd4jRuntime.openMpThreads();
                large.forward(x, ROWS, y3);
                return new int[] {afterLarge, afterSmall, Nd4jRuntime.openMpThreads()};
            });
            assertThat(seen).containsExactly(3, 1, 3);
            assertThat(y1).containsExactly(y3);
        }
    }

    /** A 512 x 512 fp16 weight of small values. */
    private static Tensor weight() {
        byte[] bytes = new byte[N * K * 2];
        MemorySegment seg = MemorySegment.ofArray(bytes);
        for (int i = 0; i < N * K; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((i % 7 - 3) * 0.01f));
        }
        return new Tensor("w", DType.FLOAT16, new long[] {N, K}, seg);
    }

    private interface Probe {
        int[] run();
    }

    /** Runs {@code probe} on a fresh thread called {@code name}; returns what it returned, while the thread still lives. */
    private static int[] onNewThread(String name, Probe probe) throws InterruptedException {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                result.set(probe.run());
            } catch (RuntimeException | Error e) {
                result.set(e);
            }
        }, name);
        t.start();
        t.join();
        if (result.get() instanceof Throwable e) {
            throw new AssertionError("probe thread failed", e);
        }
        return (int[]) result.get();
    }

    /** Threads of this process whose name (Linux's comm) is {@code name}. */
    private static int threadsNamed(String name) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return (int) tasks.filter(task -> {
                try {
                    return Files.readString(task.resolve("comm")).strip().equals(name);
                } catch (IOException e) {
                    return false; // the thread ended meanwhile
                }
            }).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
