package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SpinningWorkersTest {
    @Test
    void everyTaskRunsExactlyOnceJobAfterJob() {
        try (SpinningWorkers workers = new SpinningWorkers(3)) {
            for (int round = 0; round < 2000; round++) {
                int tasks = 1 + round % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                assertThat(workers.tryRun(tasks, runs::incrementAndGet)).isTrue();
                for (int t = 0; t < tasks; t++) {
                    assertThat(runs.get(t)).as("round %d task %d", round, t).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void aTaskFailureReachesTheCallerAfterTheOtherTasks() {
        try (SpinningWorkers workers = new SpinningWorkers(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(16);
            assertThatThrownBy(() -> workers.tryRun(16, t -> {
                runs.incrementAndGet(t);
                if (t == 5) {
                    throw new IllegalArgumentException("task 5");
                }
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("task 5");
            for (int t = 0; t < 16; t++) {
                assertThat(runs.get(t)).isEqualTo(1);
            }
            assertThat(workers.tryRun(4, t -> { })).as("usable after a failure").isTrue();
        }
    }

    @Test
    void aSecondCallerIsTurnedAwayWhileAJobRunsAndAfterClose() throws Exception {
        SpinningWorkers workers = new SpinningWorkers(2);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread first = Thread.ofPlatform().start(() -> {
            try {
                workers.tryRun(1, t -> {
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        started.await();
        assertThat(workers.tryRun(2, t -> { })).isFalse();
        release.countDown();
        first.join();
        assertThat(failure.get()).isNull();
        workers.close();
        assertThat(workers.tryRun(2, t -> { })).isFalse();
    }

    @Test
    void idleHelpersEndAndTheNextJobStartsThemAgain() throws InterruptedException {
        try (SpinningWorkers workers = new SpinningWorkers(3, 20_000_000L)) {
            assertThat(workers.liveHelpers()).isZero();
            AtomicIntegerArray runs = new AtomicIntegerArray(8);
            assertThat(workers.tryRun(8, runs::incrementAndGet)).isTrue();
            assertThat(workers.liveHelpers()).isEqualTo(2);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (workers.liveHelpers() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(workers.liveHelpers()).isZero();
            assertThat(workers.tryRun(8, runs::incrementAndGet)).isTrue();
            for (int t = 0; t < 8; t++) {
                assertThat(runs.get(t)).isEqualTo(2);
            }
        }
    }
}
