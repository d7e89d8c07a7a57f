package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --weights q8} against fp16 on the tiny PyTorch fixtures: 8 greedy steps each, the logits
 * of every step compared while the two token sequences agree. Measured (printed by the test):
 * see docs/quantization.md.
 */
class Q8AccuracyTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"), "magma");
    /** Max |q8 - fp16| logit over max |fp16 logit|, at every step: int8 noise, far below a token's margin. */
    private static final double LOGIT_TOLERANCE = 2e-2;

    @TempDir
    Path cacheDir;

    private Magma load(String name, WeightFormat format) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .weights(format).cacheDirectory(cacheDir).threads(2).load();
    }

    private static Generation greedy(Magma magma, String name) throws IOException {
        JsonNode prompt = new ObjectMapper().readTree(FIXTURES.resolve(name).resolve("prompt_ids.json").toFile());
        Npy.NpyArray image = Npy.read(FIXTURES.resolve(name).resolve("image.npy"));
        SamplingOptions argmax = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(8);
        return magma.generate(new GenerationRequest(ImageInput.preprocessed(
                new PreprocessedImage(magma.config().visual().imageResolution(), image.data())),
                prompt.get("text").asText(), argmax, true), TokenListener.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b"})
    void int8LogitsStayCloseToFp16AndGreedyTokensAgree(String name) throws IOException {
        Generation fp16;
        Generation q8;
        try (Magma m = load(name, WeightFormat.FP16)) {
            fp16 = greedy(m, name);
        }
        try (Magma m = load(name, WeightFormat.Q8)) {
            q8 = greedy(m, name);
        }
        int agree = 0;
        while (agree < 8 && q8.tokens()[agree] == fp16.tokens()[agree]) {
            agree++;
        }
        double worst = 0;
        double scale = 0;
        List<float[]> a = fp16.tensors().orElseThrow().logits();
        List<float[]> b = q8.tensors().orElseThrow().logits();
        // Step s's logits are comparable while the tokens before it agree.
        for (int s = 0; s <= Math.min(agree, 7); s++) {
            for (int i = 0; i < a.get(s).length; i++) {
                scale = Math.max(scale, Math.abs(a.get(s)[i]));
                worst = Math.max(worst, Math.abs(a.get(s)[i] - b.get(s)[i]));
            }
        }
        int[] reference = StreamSupport.stream(new ObjectMapper().readTree(FIXTURES.resolve(name).resolve("greedy.json").toFile())
                .get("tokens").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
        System.out.printf("q8 vs fp16 on %s: greedy tokens agree %d/8 (PyTorch's: %s), max logit error %.3g (max |logit| %.3g,"
                + " relative %.3g)%n", name, agree, java.util.Arrays.equals(q8.tokens(), reference) ? "8/8" : "differ", worst, scale,
                worst / scale);
        assertThat(fp16.tokens()).containsExactly(reference);
        assertThat(agree).as("greedy tokens equal to fp16's").isEqualTo(8);
        assertThat(worst).isPositive().isLessThanOrEqualTo(LOGIT_TOLERANCE * scale);
    }

    @Test
    void theCacheIsWrittenOnTheFirstLoadAndMappedAfterwards() throws IOException {
        try (Magma m = load("tiny_b", WeightFormat.Q8)) {
            assertThat(m.config().name()).isEqualTo("tiny_b");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(cacheDir)) {
            files = s.toList();
        }
        assertThat(files).hasSize(1);
        assertThat(files.getFirst().getFileName().toString()).startsWith("q8-model.pt-").endsWith(".safetensors");
        var modified = Files.getLastModifiedTime(files.getFirst());
        try (Magma m = load("tiny_b", WeightFormat.Q8)) {
            assertThat(m.config().name()).isEqualTo("tiny_b");
        }
        assertThat(Files.getLastModifiedTime(files.getFirst())).isEqualTo(modified);
    }

    @Test
    void int8WeightsNeedTheBuiltInBackend() {
        Path dir = FIXTURES.resolve("tiny_a");
        assertThatThrownBy(() -> Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .backend(new ReferenceBackend()).weights(WeightFormat.Q8).load())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("weights(Q8)").hasMessageContaining("reference");
    }
}
