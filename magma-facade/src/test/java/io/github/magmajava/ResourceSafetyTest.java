package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Cancelling, closing and long concurrent use: nothing leaks, nothing outlives the model, answers stay exact. */
class ResourceSafetyTest {
    private static final Path TINY = Path.of(System.getProperty("magma.fixtures"), "magma", "tiny_a");

    private static Magma.Builder tiny() throws IOException {
        return Magma.builder(TINY.resolve("model.pt")).config(MagmaConfig.fromJson(TINY.resolve("config.json")));
    }

    private static GenerationRequest request(String image, String prompt, SamplingOptions options) {
        Path fixtures = Path.of(System.getProperty("magma.fixtures"), "image", "src");
        return GenerationRequest.of(fixtures.resolve(image), prompt).withOptions(options);
    }

    private static void awaitIdle(Magma magma) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!magma.workload().equals(new Magma.Workload(0, 0)) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(magma.workload()).isEqualTo(new Magma.Workload(0, 0));
    }

    @Test
    void aSubmittedGenerationCancelledMidwayStopsAtItsNextStepAndFreesItsPlace() throws Exception {
        GenerationRequest request = request("rgb_430x400.png", "A picture of",
                SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(20));
        try (CpuBackend cpu = CpuBackend.withThreads(2)) {
            GatedBackend gated = new GatedBackend(cpu);
            try (Magma magma = tiny().backend(gated).load()) {
                Generation expected = magma.submit(request, TokenListener.NONE).get(60, TimeUnit.SECONDS);
                gated.delay(25); // every phase: 20 tokens take seconds, time enough to cancel midway
                CountDownLatch firstToken = new CountDownLatch(1);
                AtomicInteger told = new AtomicInteger();
                Future<Generation> running = magma.submit(request, (id, piece) -> {
                    told.incrementAndGet();
                    firstToken.countDown();
                });
                assertThat(firstToken.await(60, TimeUnit.SECONDS)).isTrue();
                assertThat(running.cancel(true)).isTrue();
                assertThatThrownBy(running::get).isInstanceOf(CancellationException.class);
                awaitIdle(magma);
                int afterCancel = told.get();
                Thread.sleep(300);
                assertThat(told.get()).as("no token told after the cancel took effect").isEqualTo(afterCancel);
                assertThat(afterCancel).isLessThan(expected.tokens().length);

                gated.delay(0);
                assertThat(magma.submit(request, TokenListener.NONE).get(60, TimeUnit.SECONDS).tokens())
                        .containsExactly(expected.tokens());
            }
        }
    }

    @Test
    void noThreadOutlivesAClosedModelAndAClosedModelRefusesWork() throws Exception {
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        Magma magma = tiny().threads(2).load();
        GenerationRequest request = request("jpeg_422_70x50.jpg", "A picture of", SamplingOptions.defaults().withMaxNewTokens(3));
        magma.generate(request, TokenListener.NONE);
        magma.close();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> left;
        do {
            left = Thread.getAllStackTraces().keySet().stream().filter(t -> !before.contains(t) && t.isAlive())
                    .map(Thread::getName).filter(n -> n.startsWith("magma-") || n.startsWith("ForkJoinPool-")).toList();
            if (!left.isEmpty()) {
                Thread.sleep(20);
            }
        } while (!left.isEmpty() && System.nanoTime() < deadline);
        assertThat(left).as("the model's threads still alive after close").isEmpty();
        assertThatThrownBy(() -> magma.generate(request, TokenListener.NONE)).isInstanceOf(IllegalStateException.class)
                .hasMessage("the model is closed");
        assertThatThrownBy(() -> magma.submit(request, TokenListener.NONE)).isInstanceOf(IllegalStateException.class)
                .hasMessage("the model is closed");
        magma.close(); // twice is harmless
    }

    /** 8 threads x 200 generations on one model: each exactly its serial answer, and the heap back to its baseline. */
    @Tag("long")
    @Test
    void soakOfConcurrentGenerationsGivesTheSerialAnswersAndLeaksNothing() throws Exception {
        List<String> images = List.of("rgb_430x400.png", "jpeg_422_70x50.jpg", "gif_gray_64x70.gif", "bmp_rgb_47x39.bmp");
        List<String> prompts = List.of("A picture of", "Q: What is this? A:", "Describe the painting:");
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            SamplingOptions options = new SamplingOptions(2 + i % 5, i % 3 == 0 ? 0 : 0.9f, i % 4 == 0 ? 40 : 0, 0.95f, i);
            requests.add(request(images.get(i % images.size()), prompts.get(i % prompts.size()), options));
        }
        try (Magma magma = tiny().threads(2).load()) {
            List<String> serial = new ArrayList<>();
            for (GenerationRequest r : requests) {
                serial.add(magma.generate(r, TokenListener.NONE).text());
            }
            long baseline = usedHeapAfterGc();

            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<List<String>>> workers = new ArrayList<>();
                for (int w = 0; w < 8; w++) {
                    int worker = w;
                    workers.add(pool.submit(() -> {
                        List<String> mismatches = new ArrayList<>();
                        for (int g = 0; g < 200; g++) {
                            int k = (worker * 200 + g) % requests.size();
                            String text = magma.generate(requests.get(k), TokenListener.NONE).text();
                            if (!text.equals(serial.get(k))) {
                                mismatches.add("worker " + worker + " generation " + g + " request " + k + ": " + text);
                            }
                        }
                        return mismatches;
                    }));
                }
                for (Future<List<String>> f : workers) {
                    assertThat(f.get(30, TimeUnit.MINUTES)).isEmpty();
                }
            } finally {
                pool.shutdownNow();
            }
            awaitIdle(magma);
            // 1,600 generations later the heap holds what it held before, within 32 MiB of GC noise.
            assertThat(usedHeapAfterGc()).isLessThan(baseline + (32L << 20));
        }
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
