package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole pipeline against PyTorch (tools/fixtures/magma_reference.py): image embeddings,
 * the logits of every greedy step (within 1e-3 of their largest magnitude) and the greedy tokens.
 */
@Tag("vector-width")
class MagmaTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"), "magma");

    private static Magma load(String name) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.load(dir.resolve("model.pt"), MagmaConfig.fromJson(dir.resolve("config.json")));
    }

    private static ImageInput referenceImage(String name, MagmaConfig config) throws IOException {
        Npy.NpyArray image = Npy.read(FIXTURES.resolve(name).resolve("image.npy"));
        return ImageInput.preprocessed(new PreprocessedImage(config.visual().imageResolution(), image.data()));
    }

    private static JsonNode json(String name, String file) throws IOException {
        return new ObjectMapper().readTree(FIXTURES.resolve(name).resolve(file).toFile());
    }

    private static String prompt(String name) throws IOException {
        return json(name, "prompt_ids.json").get("text").asText();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void greedyGenerationReproducesPyTorch(String name) throws IOException {
        try (Magma magma = load(name)) {
            JsonNode greedy = json(name, "greedy.json");
            int steps = greedy.get("tokens").size();
            SamplingOptions argmax = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(steps);
            GenerationRequest request = new GenerationRequest(referenceImage(name, magma.config()), prompt(name), argmax, true);
            Generation g = magma.generate(request, TokenListener.NONE);

            int[] expectedIds = StreamSupport.stream(greedy.get("prompt_ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
            assertThat(magma.tokenizer().encode(prompt(name))).containsExactly(expectedIds);
            assertThat(g.promptTokens()).isEqualTo(expectedIds.length);
            int[] expectedTokens = StreamSupport.stream(greedy.get("tokens").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
            assertThat(g.tokens()).containsExactly(expectedTokens);
            assertThat(g.stopReason()).isEqualTo(StopReason.MAX_TOKENS);
            assertThat(g.text()).isEqualTo(magma.tokenizer().decode(expectedTokens));

            CapturedTensors t = g.tensors().orElseThrow();
            assertWithin(t.imageEmbeddings(), Npy.read(FIXTURES.resolve(name).resolve("image_embeddings.npy")).data(), 1e-3);
            float[] logits = Npy.read(FIXTURES.resolve(name).resolve("greedy_logits.npy")).data();
            int vocab = magma.config().transformer().vocabSize();
            assertThat(t.logits()).hasSize(steps);
            for (int s = 0; s < steps; s++) {
                float[] expected = java.util.Arrays.copyOfRange(logits, s * vocab, (s + 1) * vocab);
                assertWithin(t.logits().get(s), expected, 1e-3);
            }
        }
    }

    /** encodeImage alone gives the embeddings a generation feeds the model, PyTorch's within 1e-3. */
    @Test
    void encodeImageGivesTheGenerationsImagePrefix() throws IOException {
        try (Magma magma = load("tiny_b")) {
            ImageInput image = referenceImage("tiny_b", magma.config());
            float[] alone = magma.encodeImage(image);
            Generation g = magma.generate(new GenerationRequest(image, prompt("tiny_b"),
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(2), true), TokenListener.NONE);
            assertThat(alone).hasSize(magma.config().visual().imageTokens() * magma.config().transformer().hiddenSize())
                    .containsExactly(g.tensors().orElseThrow().imageEmbeddings());
            assertWithin(alone, Npy.read(FIXTURES.resolve("tiny_b").resolve("image_embeddings.npy")).data(), 1e-3);
        }
        assertThatThrownBy(() -> closedModel().encodeImage(ImageInput.file(Path.of("none.png"))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    private static Magma closedModel() throws IOException {
        Magma magma = load("tiny_a");
        magma.close();
        return magma;
    }

    /** The seed's static mode (no cache, the padded sequence rerun per token) gives the same tokens and logits. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void staticSequenceModeGivesTheSameTokensAndLogits(String name) throws IOException {
        Path dir = FIXTURES.resolve(name);
        MagmaConfig config = MagmaConfig.fromJson(dir.resolve("config.json"));
        try (Magma cached = Magma.load(dir.resolve("model.pt"), config);
                Magma padded = Magma.builder(dir.resolve("model.pt")).config(config).sequenceMode(SequenceMode.STATIC).load()) {
            SamplingOptions argmax = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(8);
            GenerationRequest request = new GenerationRequest(referenceImage(name, config), prompt(name), argmax, true);
            Generation a = cached.generate(request, TokenListener.NONE);
            Generation b = padded.generate(request, TokenListener.NONE);
            assertThat(b.tokens()).containsExactly(a.tokens());
            for (int s = 0; s < a.tokens().length; s++) {
                float[] expected = a.tensors().orElseThrow().logits().get(s);
                assertWithin(b.tensors().orElseThrow().logits().get(s), expected, 1e-5);
            }
        }
    }

    @Test
    void seededSamplingIsReproducibleAndStreamsTheSameText() throws IOException {
        try (Magma magma = load("tiny_a")) {
            ImageInput image = referenceImage("tiny_a", magma.config());
            SamplingOptions options = SamplingOptions.defaults().withTemperature(1.5f).withTopP(1f).withMaxNewTokens(10).withSeed(42);
            StringBuilder streamed = new StringBuilder();
            Generation first = magma.generate(new GenerationRequest(image, "A picture of", options, false),
                    (id, piece) -> streamed.append(piece));
            Generation again = magma.generate(new GenerationRequest(image, "A picture of", options, false), TokenListener.NONE);
            Generation other = magma.generate(new GenerationRequest(image, "A picture of", options.withSeed(43), false),
                    TokenListener.NONE);
            assertThat(first.tokens()).hasSize(10).containsExactly(again.tokens());
            assertThat(other.tokens()).isNotEqualTo(first.tokens());
            assertThat(streamed.toString()).isEqualTo(first.text());
            assertThat(first.tensors()).isEmpty();
        }
    }

    @Test
    void oneLoadedModelServesConcurrentRequests() throws Exception {
        try (Magma magma = load("tiny_b")) {
            ImageInput image = referenceImage("tiny_b", magma.config());
            List<SamplingOptions> options = List.of(SamplingOptions.defaults().withMaxNewTokens(8).withSeed(1),
                    SamplingOptions.defaults().withMaxNewTokens(8).withSeed(2),
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(8),
                    SamplingOptions.defaults().withTopK(5).withMaxNewTokens(8).withSeed(3));
            List<int[]> sequential = new ArrayList<>();
            for (SamplingOptions o : options) {
                sequential.add(magma.generate(new GenerationRequest(image, "Describe the painting:", o, false), TokenListener.NONE).tokens());
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<int[]>> futures = new ArrayList<>();
                for (int round = 0; round < 3; round++) {
                    for (SamplingOptions o : options) {
                        futures.add(pool.submit(() -> magma.generate(
                                new GenerationRequest(image, "Describe the painting:", o, false), TokenListener.NONE).tokens()));
                    }
                }
                for (int i = 0; i < futures.size(); i++) {
                    assertThat(futures.get(i).get()).containsExactly(sequential.get(i % options.size()));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aPromptThatDoesNotFitIsRefusedAndLongAnswersStopAtTheBudget() throws IOException {
        try (Magma magma = load("tiny_a")) {
            // tiny_a: sequenceLength 40, maxPositions 64, 4 image tokens -> 40 text positions.
            ImageInput image = referenceImage("tiny_a", magma.config());
            String longPrompt = " cat".repeat(40);
            assertThatThrownBy(() -> magma.generate(new GenerationRequest(image, longPrompt, SamplingOptions.defaults(), false),
                    TokenListener.NONE)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("the prompt has 40 tokens").hasMessageContaining("at most 39 prompt tokens");
            SamplingOptions many = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(100);
            Generation g = magma.generate(new GenerationRequest(image, " cat".repeat(30), many, false), TokenListener.NONE);
            assertThat(g.tokens()).hasSize(10);
            assertThat(g.stopReason()).isEqualTo(StopReason.CONTEXT_FULL);
        }
    }

    @Test
    void aCheckpointMatchingNoPresetNeedsAConfig() {
        assertThatThrownBy(() -> Magma.load(FIXTURES.resolve("tiny_a").resolve("model.pt")))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.pt").hasMessageContaining("match no preset");
    }

    @Test
    void aWrongConfigNamesTheMismatchedTensors() {
        Path dir = FIXTURES.resolve("tiny_a");
        assertThatThrownBy(() -> Magma.load(dir.resolve("model.pt"), MagmaConfig.fromJson(FIXTURES.resolve("tiny_b").resolve("config.json"))))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("does not match model config 'tiny_b'")
                .hasMessageContaining("tensor image_prefix.enc.conv1.weight has shape [8, 3, 3, 3], expected [4, 3, 3, 3]")
                .hasMessageContaining("... and 170 more");
    }

    private static void assertWithin(float[] actual, float[] expected, double relative) {
        assertThat(actual).hasSameSizeAs(expected);
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("max abs error vs max |reference| %s", scale).isLessThanOrEqualTo(relative * Math.max(scale, 1e-6));
    }
}
