package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Questions on one kept image against separate {@link Magma#generate} calls. */
class ImageSessionTest {
    private static final Path FIXTURES = TinyGreedyRuns.FIXTURES;
    private static final List<String> QUESTIONS = List.of("A picture of", "Q: What is in the image? A:", "Describe the painting:",
            "The colour of the sky is", "café 日本");
    /** Logits within float rounding: the image's positions are prefilled apart from the prompt's. */
    private static final double LOGIT_TOLERANCE = 1e-5;

    private static Magma load(String name, SequenceMode mode) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json"))).sequenceMode(mode).load();
    }

    private static ImageInput image(String name, Magma magma) throws IOException {
        return ImageInput.preprocessed(new PreprocessedImage(magma.config().visual().imageResolution(),
                Npy.read(FIXTURES.resolve(name).resolve("image.npy")).data()));
    }

    private static void assertSameAnswer(Generation asked, Generation generated) {
        assertThat(asked.tokens()).containsExactly(generated.tokens());
        assertThat(asked.text()).isEqualTo(generated.text());
        assertThat(asked.stopReason()).isEqualTo(generated.stopReason());
        List<float[]> a = asked.tensors().orElseThrow().logits();
        List<float[]> g = generated.tensors().orElseThrow().logits();
        assertThat(a).hasSameSizeAs(g);
        for (int s = 0; s < a.size(); s++) {
            float[] expected = g.get(s);
            double scale = 0;
            double worst = 0;
            for (int i = 0; i < expected.length; i++) {
                scale = Math.max(scale, Math.abs(expected[i]));
                worst = Math.max(worst, Math.abs(a.get(s)[i] - expected[i]));
            }
            assertThat(worst).as("step %d", s).isLessThanOrEqualTo(LOGIT_TOLERANCE * scale);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void fiveQuestionsOnOneSessionEqualFiveGenerateCalls(String name) throws IOException {
        try (Magma magma = load(name, SequenceMode.KV_CACHE); ImageSession session = magma.session(image(name, magma))) {
            int imageTokens = magma.config().visual().imageTokens();
            for (int q = 0; q < QUESTIONS.size(); q++) {
                // greedy for some, seeded sampling for the others
                SamplingOptions options = SamplingOptions.defaults().withMaxNewTokens(6).withTemperature(q % 2 == 0 ? 0 : 0.9f)
                        .withSeed(q);
                Generation asked = session.ask(QUESTIONS.get(q), options, List.of(), TokenListener.NONE, true);
                Generation generated = magma.generate(new GenerationRequest(image(name, magma), QUESTIONS.get(q), options, true),
                        TokenListener.NONE);
                assertSameAnswer(asked, generated);
                // the first question runs the image's positions too; later ones only their prompt's
                assertThat(asked.prefillTokens()).isEqualTo((q == 0 ? imageTokens : 0) + asked.promptTokens());
                assertThat(generated.prefillTokens()).isEqualTo(imageTokens + generated.promptTokens());
            }
        }
    }

    @Test
    void concurrentAsksEqualSequentialOnes() throws Exception {
        try (Magma magma = load("tiny_c", SequenceMode.KV_CACHE); ImageSession session = magma.session(image("tiny_c", magma))) {
            SamplingOptions options = SamplingOptions.defaults().withMaxNewTokens(8).withTemperature(0);
            List<int[]> sequential = new ArrayList<>();
            for (String q : QUESTIONS) {
                sequential.add(session.ask(q, options).tokens());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<Generation>> answers = new ArrayList<>();
                    for (String q : QUESTIONS) {
                        answers.add(pool.submit(() -> session.ask(q, options)));
                    }
                    for (int i = 0; i < QUESTIONS.size(); i++) {
                        assertThat(answers.get(i).get().tokens()).as(QUESTIONS.get(i)).containsExactly(sequential.get(i));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void staticSequenceModeSessionsRerunTheImageAndGiveTheSameAnswers() throws IOException {
        try (Magma magma = load("tiny_a", SequenceMode.STATIC); ImageSession session = magma.session(image("tiny_a", magma))) {
            SamplingOptions options = SamplingOptions.defaults().withMaxNewTokens(5).withTemperature(0);
            Generation asked = session.ask(QUESTIONS.get(0), options, List.of(), TokenListener.NONE, true);
            Generation generated = magma.generate(new GenerationRequest(image("tiny_a", magma), QUESTIONS.get(0), options, true),
                    TokenListener.NONE);
            assertSameAnswer(asked, generated);
            int padded = magma.config().visual().imageTokens() + magma.config().transformer().sequenceLength();
            assertThat(asked.prefillTokens()).isEqualTo(padded);
        }
    }

    @Test
    void aClosedSessionRefusesQuestionsAndTheModelStaysOpen() throws IOException {
        try (Magma magma = load("tiny_b", SequenceMode.KV_CACHE)) {
            ImageSession session = magma.session(image("tiny_b", magma));
            session.close();
            assertThatThrownBy(() -> session.ask("A picture of")).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this image session is closed");
            assertThat(magma.generate(GenerationRequest.of(FIXTURES.resolve("../image/src/rgb_430x400.png"), "A")
                    .withOptions(SamplingOptions.defaults().withMaxNewTokens(2)), TokenListener.NONE).tokens()).isNotEmpty();
        }
    }

    @Test
    void aPromptTooLongForTheContextIsRefused() throws IOException {
        try (Magma magma = load("tiny_a", SequenceMode.KV_CACHE); ImageSession session = magma.session(image("tiny_a", magma))) {
            assertThatThrownBy(() -> session.ask(" the".repeat(200))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("prompt has 200 tokens");
        }
    }
}
