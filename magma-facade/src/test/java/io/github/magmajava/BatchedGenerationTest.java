package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Generations in flight together share decode steps (the one scheduling thread of
 * {@link GenerationLoop}): each still gets exactly the answer, and the logits, it gets alone;
 * stop strings, cancellation and close behave.
 */
@Timeout(120)
class BatchedGenerationTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"), "magma");
    private static final List<String> PROMPTS = List.of("Describe the painting:", "A picture of", "Q: What is this? A:",
            "of cat 92", "Q: Where is the cat? A:", "This is");

    private static Magma load(String name, int batchSize, SequenceMode mode) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .batchSize(batchSize).sequenceMode(mode).threads(2).load();
    }

    private static ImageInput image(String name, Magma magma) throws IOException {
        return ImageInput.preprocessed(new PreprocessedImage(magma.config().visual().imageResolution(),
                Npy.read(FIXTURES.resolve(name).resolve("image.npy")).data()));
    }

    private static SamplingOptions options(int i) {
        SamplingOptions base = SamplingOptions.defaults().withMaxNewTokens(6 + 3 * i).withSeed(40 + i);
        return i % 3 == 0 ? base.withTemperature(0) : base.withTopK(i % 2 == 0 ? 0 : 8);
    }

    private static GenerationRequest request(ImageInput image, int i) {
        return new GenerationRequest(image, PROMPTS.get(i % PROMPTS.size()), options(i), true);
    }

    /** 12 requests on 6 threads, 4 advancing at a time: the tokens and every step's logits of each equal its run alone. */
    @ParameterizedTest
    @EnumSource(SequenceMode.class)
    void concurrentGenerationsGetTheirAloneAnswersBitForBit(SequenceMode mode) throws Exception {
        try (Magma magma = load("tiny_b", 4, mode)) {
            ImageInput image = image("tiny_b", magma);
            int requests = 12;
            List<Generation> alone = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                alone.add(magma.generate(request(image, i), TokenListener.NONE));
            }
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<Generation>> together = new ArrayList<>();
                for (int i = 0; i < requests; i++) {
                    int n = i;
                    together.add(pool.submit(() -> magma.generate(request(image, n), TokenListener.NONE)));
                }
                for (int i = 0; i < requests; i++) {
                    Generation a = alone.get(i);
                    Generation t = together.get(i).get();
                    assertThat(t.tokens()).as("request %d", i).containsExactly(a.tokens());
                    assertThat(t.text()).isEqualTo(a.text());
                    List<float[]> la = a.tensors().orElseThrow().logits();
                    List<float[]> lt = t.tensors().orElseThrow().logits();
                    assertThat(lt).hasSameSizeAs(la);
                    for (int s = 0; s < la.size(); s++) {
                        assertThat(lt.get(s)).as("request %d step %d", i, s).isEqualTo(la.get(s));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(magma.workload()).isEqualTo(new Magma.Workload(0, 0));
        }
    }

    @Test
    void aStopStringEndsTheAnswerBeforeItAndIsNeverStreamed() throws IOException {
        try (Magma magma = load("tiny_a", 8, SequenceMode.KV_CACHE)) {
            ImageInput image = image("tiny_a", magma);
            GenerationRequest plain = new GenerationRequest(image, "A picture of",
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(12), false);
            Generation full = magma.generate(plain, TokenListener.NONE);
            String text = full.text();
            assertThat(text.length()).as("the fixture's greedy answer").isGreaterThan(6);
            String stop = text.substring(3, 6);
            StringBuilder streamed = new StringBuilder();
            List<Integer> ids = new ArrayList<>();
            Generation cut = magma.generate(plain.withStop(List.of("never there", stop)), (id, piece) -> {
                ids.add(id);
                streamed.append(piece);
            });
            String expected = text.substring(0, text.indexOf(stop));
            assertThat(cut.text()).isEqualTo(expected);
            assertThat(streamed.toString()).isEqualTo(expected);
            assertThat(cut.stopReason()).isEqualTo(StopReason.STOP_SEQUENCE);
            assertThat(ids).containsExactly(java.util.Arrays.stream(cut.tokens()).boxed().toArray(Integer[]::new));
            assertThat(cut.tokens()).hasSizeLessThan(full.tokens().length);
            // A stop string the answer never reaches changes nothing.
            Generation untouched = magma.generate(plain.withStop(List.of("\u0000never")), TokenListener.NONE);
            assertThat(untouched.text()).isEqualTo(text);
            assertThat(untouched.stopReason()).isEqualTo(full.stopReason());
            assertThatThrownBy(() -> plain.withStop(List.of("a", ""))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("stop string 1 is empty");
        }
    }

    @Test
    void aCancelledGenerationLeavesTheOthersAndFreesItsPlace() throws Exception {
        try (Magma magma = load("tiny_a", 2, SequenceMode.KV_CACHE)) {
            ImageInput image = image("tiny_a", magma);
            GenerationRequest request = new GenerationRequest(image, "A picture of",
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(15), false);
            Generation expected = magma.generate(request, TokenListener.NONE);
            RuntimeException enough = new IllegalStateException("client went away");
            assertThatThrownBy(() -> magma.generate(request, (id, piece) -> {
                throw enough;
            })).isSameAs(enough);
            // The interrupted caller's generation is dropped too.
            CountDownLatch started = new CountDownLatch(1);
            Thread caller = Thread.ofPlatform().start(() -> {
                assertThatThrownBy(() -> magma.generate(request, (id, piece) -> {
                    started.countDown();
                    try {
                        Thread.sleep(60_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new CancellationException("interrupted in the listener");
                    }
                })).isInstanceOf(CancellationException.class);
            });
            assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
            caller.interrupt();
            caller.join(30_000);
            assertThat(caller.isAlive()).isFalse();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (magma.workload().running() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(magma.workload()).isEqualTo(new Magma.Workload(0, 0));
            assertThat(magma.generate(request, TokenListener.NONE).tokens()).containsExactly(expected.tokens());
        }
    }

    /** A generation held mid-step on the scheduling thread when the model closes: its caller gets a clear error. */
    @Test
    void closeEndsGenerationsInFlightAndStopsTheSchedulingThread() throws Exception {
        Path dir = FIXTURES.resolve("tiny_a");
        try (CpuBackend cpu = CpuBackend.withThreads(2)) {
            GatedBackend gated = new GatedBackend(cpu);
            Magma magma = Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                    .backend(gated).load();
            ImageInput image = image("tiny_a", magma);
            GenerationRequest request = new GenerationRequest(image, "A picture of",
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(15), false);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                gated.hold();
                List<Future<Generation>> running = List.of(pool.submit(() -> magma.generate(request, TokenListener.NONE)),
                        pool.submit(() -> magma.generate(request, TokenListener.NONE)));
                assertThat(gated.arrived.tryAcquire(30, TimeUnit.SECONDS)).as("a phase started").isTrue();
                Thread closing = Thread.ofPlatform().start(magma::close);
                Thread.sleep(100);
                gated.release();
                closing.join(30_000);
                for (Future<Generation> f : running) {
                    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class).cause()
                            .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("magma-generation"));
            assertThatThrownBy(() -> magma.generate(request, TokenListener.NONE)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the model is closed");
        }
    }
}
