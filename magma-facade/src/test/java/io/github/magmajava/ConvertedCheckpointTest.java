package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.convert.CheckpointConverter;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.quant.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A file written by {@code magma convert} loads like the {@code .pt} it was made from, with no
 * config given: the same greedy tokens and bit-identical image embeddings and logits (the same
 * bytes in, the same kernels). A q8 file runs as the {@code .pt} does with {@code --weights q8}.
 */
class ConvertedCheckpointTest {
    @TempDir
    Path dir;

    private static Path model(String fixture) {
        return TinyGreedyRuns.FIXTURES.resolve(fixture).resolve("model.pt");
    }

    private static MagmaConfig config(String fixture) {
        return MagmaConfig.fromJson(TinyGreedyRuns.FIXTURES.resolve(fixture).resolve("config.json"));
    }

    private Path convert(String fixture, WeightFormat weights) throws IOException {
        Path target = dir.resolve(fixture + "-" + weights.cliName() + ".safetensors");
        CheckpointConverter.convert(model(fixture), target, weights, Optional.of(config(fixture)), dir.resolve("cache"));
        return target;
    }

    private static void assertIdentical(Generation actual, Generation expected) {
        assertThat(actual.tokens()).containsExactly(expected.tokens());
        CapturedTensors a = actual.tensors().orElseThrow();
        CapturedTensors e = expected.tensors().orElseThrow();
        assertThat(a.imageEmbeddings()).containsExactly(e.imageEmbeddings());
        assertThat(a.logits()).hasSameSizeAs(e.logits());
        for (int s = 0; s < e.logits().size(); s++) {
            assertThat(a.logits().get(s)).as("logits of step " + s).containsExactly(e.logits().get(s));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void theConvertedFileGivesThePtsTokensAndLogitsWithoutAConfig(String fixture) throws IOException {
        Path converted = convert(fixture, WeightFormat.FP16);
        Generation pt;
        try (Magma m = Magma.builder(model(fixture)).config(config(fixture)).threads(2).load()) {
            pt = TinyGreedyRuns.greedy(m, fixture);
        }
        try (Magma m = Magma.builder(converted).threads(2).load()) {
            assertThat(m.config()).isEqualTo(config(fixture));
            assertIdentical(TinyGreedyRuns.greedy(m, fixture), pt);
        }
        assertThat(pt.tokens()).containsExactly(TinyGreedyRuns.pytorchTokens(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b"})
    void aQ8FileRunsAsThePtWithQ8WeightsAndIsSmaller(String fixture) throws IOException {
        Path q8 = convert(fixture, WeightFormat.Q8);
        assertThat(Files.size(q8)).isLessThan(Files.size(convert(fixture, WeightFormat.FP16)));
        Generation pt;
        try (Magma m = Magma.builder(model(fixture)).config(config(fixture)).weights(WeightFormat.Q8)
                .cacheDirectory(dir.resolve("cache")).threads(2).load()) {
            pt = TinyGreedyRuns.greedy(m, fixture);
        }
        Path unused = dir.resolve("unused-cache");
        try (Magma m = Magma.builder(q8).cacheDirectory(unused).threads(2).load()) {
            assertIdentical(TinyGreedyRuns.greedy(m, fixture), pt);
        }
        try (Magma m = Magma.builder(q8).weights(WeightFormat.Q8).cacheDirectory(unused).threads(2).load()) {
            assertIdentical(TinyGreedyRuns.greedy(m, fixture), pt);
        }
        assertThat(unused).as("the int8 weights are read from the file, not a cache").doesNotExist();
    }

    @Test
    void aQ8FileRefusesFp16AndAGivenBackend() throws IOException {
        Path q8 = convert("tiny_b", WeightFormat.Q8);
        assertThatThrownBy(() -> Magma.builder(q8).weights(WeightFormat.FP16).load())
                .isInstanceOf(CheckpointException.class)
                .hasMessage(q8 + ": holds int8 weights (converted with --weights q8), which cannot be read as fp16; leave"
                        + " weights unset, or convert the original checkpoint with --weights fp16");
        assertThatThrownBy(() -> Magma.builder(q8).backend(new ReferenceBackend()).load())
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("holds int8 weights").hasMessageContaining("not backend(reference)");
    }

    @Test
    void anExplicitConfigStillWinsOverTheMetadata() throws IOException {
        Path converted = convert("tiny_a", WeightFormat.FP16);
        assertThatThrownBy(() -> Magma.load(converted, config("tiny_b")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("does not match model config 'tiny_b'");
    }
}
