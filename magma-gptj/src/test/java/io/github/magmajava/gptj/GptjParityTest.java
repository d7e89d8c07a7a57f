package io.github.magmajava.gptj;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.io.Npy;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TorchCheckpoint;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The language model against PyTorch: tiny MAGMA checkpoints and their float32 reference
 * activations from tools/fixtures/magma_reference.py, on every backend. Block pieces must agree
 * within 1e-5 of their largest magnitude, logits within 1e-3 of the largest reference logit, and
 * greedy decoding through the KV cache must pick the reference's tokens exactly.
 */
@Tag("vector-width")
@Timeout(60)
class GptjParityTest {
    /** Activations of order 1: 1e-5 of their largest magnitude, never tighter than 1e-5 absolute. */
    private static final Tolerance PIECE_TOLERANCE = new Tolerance(1e-5, 1);
    /** Logits: 1e-3 of the largest reference logit. */
    private static final Tolerance LOGIT_TOLERANCE = new Tolerance(1e-3, 0);
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Arguments> cases() {
        Supplier<Backend> reference = ReferenceBackend::new;
        Supplier<Backend> cpu = () -> CpuBackend.withThreads(2);
        return Stream.of("tiny_a", "tiny_b", "tiny_c").flatMap(f -> Stream.of(
                Arguments.of(f, "reference", reference), Arguments.of(f, "cpu", cpu)));
    }

    private record Tolerance(double relative, double floor) {
    }

    /** An open fixture: its checkpoint, the model on one backend, the decoder input. */
    private record Loaded(Path dir, TransformerConfig t, GptjModel model, float[] input, int rows) {
        float[] npy(String name) throws IOException {
            return Npy.read(dir.resolve(name + ".npy")).data();
        }
    }

    private interface Body {
        void run(Loaded f) throws IOException;
    }

    private static void withFixture(String fixture, Supplier<Backend> backends, Body body) throws IOException {
        Path dir = Path.of(System.getProperty("magma.fixtures")).resolve("magma").resolve(fixture);
        MagmaConfig config = MagmaConfig.fromJson(dir.resolve("config.json"));
        try (TensorFile file = TorchCheckpoint.open(dir.resolve("model.pt")); Backend backend = backends.get()) {
            GptjModel model = GptjModel.load(MagmaWeights.bind(file, config).languageModel(), config, backend);
            int d = config.transformer().hiddenSize();
            float[] image = Npy.read(dir.resolve("image_embeddings.npy")).data();
            int[] ids = ids(JSON.readTree(dir.resolve("prompt_ids.json").toFile()).get("ids"));
            int imageRows = image.length / d;
            float[] input = Arrays.copyOf(image, (imageRows + ids.length) * d);
            float[] text = new float[ids.length * d];
            model.embed(ids, text);
            System.arraycopy(text, 0, input, imageRows * d, text.length);
            body.run(new Loaded(dir, config.transformer(), model, input, imageRows + ids.length));
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void blockZeroPiecesMatchPyTorch(String fixture, String backendName, Supplier<Backend> backend) throws IOException {
        withFixture(fixture, backend, f -> {
            int rows = f.rows();
            int d = f.t().hiddenSize();
            assertThat(f.input()).as("[image embeddings ; wte[prompt]]").containsExactly(f.npy("block0_input"));
            GptjBlock block = f.model().block(0);
            Workspace ws = f.model().newWorkspace(rows);

            float[] ln1 = new float[rows * d];
            block.layerNorm(f.input(), rows, ln1);
            assertClose("block0_ln1", ln1, f.npy("block0_ln1"), PIECE_TOLERANCE);

            float[] attention = new float[rows * d];
            block.attention(f.npy("block0_ln1"), rows, f.model().newCache(rows), ws, attention);
            assertClose("block0_attention", attention, f.npy("block0_attention"), PIECE_TOLERANCE);

            float[] mlp = new float[rows * d];
            block.mlp(f.npy("block0_ln1"), rows, ws, mlp);
            assertClose("block0_mlp", mlp, f.npy("block0_mlp"), PIECE_TOLERANCE);

            float[] x = f.npy("block0_input");
            block.forward(x, Positions.of(f.model().newCache(rows), rows), ws);
            assertClose("block0_output", x, f.npy("block0_output"), PIECE_TOLERANCE);
        });
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void cachedAttentionOfTheLastPositionMatchesPyTorch(String fixture, String backendName, Supplier<Backend> backend)
            throws IOException {
        withFixture(fixture, backend, f -> {
            int rows = f.rows();
            int d = f.t().hiddenSize();
            KvCache cache = f.model().newCache(rows);
            f.model().forward(f.input(), rows - 1, cache);
            float[] lastLn1 = Arrays.copyOfRange(f.npy("block0_ln1"), (rows - 1) * d, rows * d);
            float[] out = new float[d];
            f.model().block(0).attention(lastLn1, 1, cache, f.model().newWorkspace(1), out);
            assertClose("block0_attention_cached_last", out, f.npy("block0_attention_cached_last"), PIECE_TOLERANCE);
        });
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void finalHiddenStatesAndLogitsMatchPyTorch(String fixture, String backendName, Supplier<Backend> backend)
            throws IOException {
        withFixture(fixture, backend, f -> {
            int rows = f.rows();
            float[] x = f.model().hiddenStates(f.input(), rows, f.model().newCache(rows), f.model().newWorkspace(rows));
            float[] hidden = new float[x.length];
            f.model().finalNorm(x, rows, hidden);
            assertClose("hidden_final", hidden, f.npy("hidden_final"), PIECE_TOLERANCE);

            float[] logits = f.model().forward(f.input(), rows, f.model().newCache(rows));
            assertClose("logits", logits, f.npy("logits"), LOGIT_TOLERANCE);
        });
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void greedyDecodingThroughTheCacheReproducesPyTorch(String fixture, String backendName, Supplier<Backend> backend)
            throws IOException {
        withFixture(fixture, backend, f -> {
            int[] expected = ids(JSON.readTree(f.dir().resolve("greedy.json").toFile()).get("tokens"));
            float[] expectedLogits = f.npy("greedy_logits");
            int vocab = f.t().vocabSize();
            int d = f.t().hiddenSize();
            KvCache cache = f.model().newCache(f.rows() + expected.length - 1);
            float[] logits = f.model().forward(f.input(), f.rows(), cache);
            int[] tokens = new int[expected.length];
            for (int step = 0; step < expected.length; step++) {
                assertClose("greedy_logits[" + step + "]", logits,
                        Arrays.copyOfRange(expectedLogits, step * vocab, (step + 1) * vocab), LOGIT_TOLERANCE);
                tokens[step] = argmax(logits, f.t().realVocabSize());
                if (step + 1 < expected.length) {
                    float[] row = new float[d];
                    f.model().embed(new int[] {tokens[step]}, row);
                    logits = f.model().forward(row, 1, cache);
                }
            }
            assertThat(tokens).containsExactly(expected);
            assertThat(argmax(logits, vocab)).as("the fixture makes an unrestricted argmax pick an unembeddable id")
                    .isGreaterThanOrEqualTo(f.t().realVocabSize());
        });
    }

    private static int argmax(float[] logits, int limit) {
        int best = 0;
        for (int i = 1; i < limit; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    /** max |actual - expected| <= tolerance * max(floor, max |expected|); prints the error for the record. */
    private static void assertClose(String what, float[] actual, float[] expected, Tolerance tolerance) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        double err = 0;
        double scale = 0;
        for (int i = 0; i < actual.length; i++) {
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double bound = tolerance.relative() * Math.max(tolerance.floor(), scale);
        System.out.printf("%s: max abs error %.3g (max |ref| %.3g, bound %.3g)%n", what, err, scale, bound);
        assertThat(err).as("%s: max abs error against max |ref| %s", what, scale).isLessThanOrEqualTo(bound);
    }
}
