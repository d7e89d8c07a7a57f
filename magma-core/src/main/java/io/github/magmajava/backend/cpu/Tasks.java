package io.github.magmajava.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** Tasks 0 .. n-1 on a fork-join pool, or inline when there is one task or one worker. */
final class Tasks {
    private Tasks() {
    }

    static void run(ForkJoinPool pool, int tasks, IntConsumer body) {
        if (tasks == 1 || pool.getParallelism() == 1) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
        } else {
            pool.submit(() -> IntStream.range(0, tasks).parallel().forEach(body)).join();
        }
    }
}
