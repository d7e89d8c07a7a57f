package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.quant.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --weights q8} against fp16 on the tiny PyTorch fixtures: 8 greedy steps each, the logits
 * of every step compared while the two token sequences agree. Measured (printed by the test):
 * see docs/quantization.md.
 */
@Tag("vector-width")
class Q8AccuracyTest {
    private static final Path FIXTURES = TinyGreedyRuns.FIXTURES;
    /** Max |q8 - fp16| logit over max |fp16 logit|, at every step: int8 noise, far below a token's margin. */
    private static final double LOGIT_TOLERANCE = 2e-2;

    @TempDir
    Path cacheDir;

    private Magma load(String name, WeightFormat format) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .weights(format).cacheDirectory(cacheDir).threads(2).load();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void int8LogitsStayCloseToFp16AndGreedyTokensAgree(String name) throws IOException {
        Generation fp16;
        Generation q8;
        try (Magma m = load(name, WeightFormat.FP16)) {
            fp16 = TinyGreedyRuns.greedy(m, name);
        }
        try (Magma m = load(name, WeightFormat.Q8)) {
            q8 = TinyGreedyRuns.greedy(m, name);
        }
        TinyGreedyRuns.Comparison c = TinyGreedyRuns.compare(fp16, q8);
        int[] reference = TinyGreedyRuns.pytorchTokens(name);
        System.out.printf("q8 vs fp16 on %s: greedy tokens agree %d/8 (PyTorch's: %s), max logit error %.3g (max |logit| %.3g,"
                + " relative %.3g)%n", name, c.agreeingSteps(), java.util.Arrays.equals(q8.tokens(), reference) ? "8/8" : "differ",
                c.worstError(), c.scale(), c.relativeError());
        assertThat(fp16.tokens()).containsExactly(reference);
        assertThat(c.agreeingSteps()).as("greedy tokens equal to fp16's").isEqualTo(TinyGreedyRuns.STEPS);
        assertThat(c.worstError()).isPositive().isLessThanOrEqualTo(LOGIT_TOLERANCE * c.scale());
    }

    @Test
    void theCacheIsWrittenOnTheFirstLoadAndMappedAfterwards() throws IOException {
        try (Magma m = load("tiny_b", WeightFormat.Q8)) {
            assertThat(m.config().name()).isEqualTo("tiny_b");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(cacheDir)) {
            // the writers' lock file (docs/quantization.md) stays beside the cache
            files = s.filter(f -> !f.getFileName().toString().endsWith(".lock")).toList();
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
