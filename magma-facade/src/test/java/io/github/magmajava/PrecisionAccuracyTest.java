package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.Precision;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both {@link Precision}s against PyTorch float32 on the tiny fixtures, stage by stage: the image
 * prefix's embeddings, the logits of each of 8 greedy steps, the greedy tokens. Errors are max
 * |ours - PyTorch| over max |PyTorch| of that stage (the figures in docs/performance.md,
 * "Precision", come from this test's output).
 */
@Tag("vector-width")
class PrecisionAccuracyTest {
    private static final Path FIXTURES = TinyGreedyRuns.FIXTURES;
    /** {@link Precision#EXACT}: MagmaTest's parity tolerance (float rounding, different summation orders). */
    private static final double EXACT_TOLERANCE = 1e-3;
    /**
     * {@link Precision#FAST}: the bound for a fast mode. Measured 3.9e-3 to 7.0e-3 of the
     * range on the image prefix, 2.6e-3 to 4.3e-3 on the logits: bfloat16's 8-bit significand on
     * the encoder's and the prompt's GEMM inputs, not a defect.
     */
    private static final double FAST_TOLERANCE = 1e-2;

    private static Magma load(String name, Precision precision) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .precision(precision).threads(2).load();
    }

    /** Max |a - b| over max |b|. */
    private static double relativeError(float[] actual, float[] expected) {
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        return worst / scale;
    }

    /** Per stage: the image prefix, then the logits of every step (each against PyTorch's step). */
    private static double[] errorsAgainstPyTorch(Generation g, String name, int vocab) throws IOException {
        CapturedTensors t = g.tensors().orElseThrow();
        float[] pytorchLogits = Npy.read(FIXTURES.resolve(name).resolve("greedy_logits.npy")).data();
        List<float[]> logits = t.logits();
        double[] errors = new double[1 + logits.size()];
        errors[0] = relativeError(t.imageEmbeddings(), Npy.read(FIXTURES.resolve(name).resolve("image_embeddings.npy")).data());
        for (int s = 0; s < logits.size(); s++) {
            errors[1 + s] = relativeError(logits.get(s), java.util.Arrays.copyOfRange(pytorchLogits, s * vocab, (s + 1) * vocab));
        }
        return errors;
    }

    private static double maxOf(double[] errors, int from) {
        double m = 0;
        for (int i = from; i < errors.length; i++) {
            m = Math.max(m, errors[i]);
        }
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void bothPrecisionsFollowPyTorchStageByStage(String name) throws IOException {
        int[] pytorch = TinyGreedyRuns.pytorchTokens(name);
        Generation exact;
        Generation fast;
        int vocab;
        try (Magma m = load(name, Precision.EXACT)) {
            exact = TinyGreedyRuns.greedy(m, name);
            vocab = m.config().transformer().vocabSize();
        }
        try (Magma m = load(name, Precision.FAST)) {
            fast = TinyGreedyRuns.greedy(m, name);
        }
        double[] exactErrors = errorsAgainstPyTorch(exact, name, vocab);
        double[] fastErrors = errorsAgainstPyTorch(fast, name, vocab);
        System.out.printf("precision on %s vs PyTorch fp32: image prefix exact %.2g fast %.2g; first logits exact %.2g fast %.2g;"
                + " all %d steps' logits exact %.2g fast %.2g%n", name, exactErrors[0], fastErrors[0], exactErrors[1], fastErrors[1],
                TinyGreedyRuns.STEPS, maxOf(exactErrors, 1), maxOf(fastErrors, 1));

        assertThat(exact.tokens()).containsExactly(pytorch);
        assertThat(fast.tokens()).as("fast greedy tokens").containsExactly(pytorch);
        assertThat(maxOf(exactErrors, 0)).isLessThanOrEqualTo(EXACT_TOLERANCE);
        assertThat(maxOf(fastErrors, 0)).isLessThanOrEqualTo(FAST_TOLERANCE);
    }

    /** Where oneDNN runs bfloat16, fast really takes another path: its logits differ from exact's. */
    @Test
    void fastRunsTheBfloat16PathWhereOneDnnHasIt() throws IOException {
        try (CpuBackend probe = CpuBackend.builder().oneDnn(OneDnnMode.BF16).threads(1).build()) {
            Assumptions.assumeTrue(probe.oneDnnMode() == OneDnnMode.BF16, "oneDNN has no bfloat16 matmul here");
        }
        Generation exact;
        Generation fast;
        try (Magma m = load("tiny_a", Precision.EXACT)) {
            exact = TinyGreedyRuns.greedy(m, "tiny_a");
        }
        try (Magma m = load("tiny_a", Precision.FAST)) {
            fast = TinyGreedyRuns.greedy(m, "tiny_a");
        }
        TinyGreedyRuns.Comparison c = TinyGreedyRuns.compare(exact, fast);
        assertThat(c.agreeingSteps()).isEqualTo(TinyGreedyRuns.STEPS);
        assertThat(c.relativeError()).isPositive();
    }

    @Test
    void precisionConfiguresTheBuiltInBackendOnly() {
        Path dir = FIXTURES.resolve("tiny_a");
        assertThatThrownBy(() -> Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .backend(new ReferenceBackend()).precision(Precision.FAST).load())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("precision(FAST)");
    }
}
