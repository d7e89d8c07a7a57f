package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.config.MagmaConfig;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --onednn bf16} (prefill GEMMs in bfloat16) against the default fp32 on the tiny PyTorch
 * fixtures: 8 greedy steps each. The prefill's logits (step 0) carry the bfloat16 rounding; later
 * steps decode in fp32 again but attend to bfloat16-computed keys and values. Skipped where
 * oneDNN does not load (the mode then has no effect).
 */
@Tag("vector-width")
class Bf16PrefillAccuracyTest {
    private static final Path FIXTURES = TinyGreedyRuns.FIXTURES;
    /**
     * Max |bf16 - fp32| logit over max |fp32 logit|, at every step while the tokens agree. Measured
     * 3.8e-3 (tiny_a) and 3.2e-3 (tiny_b): bfloat16's 8-bit significand, not a defect.
     */
    private static final double LOGIT_TOLERANCE = 1e-2;

    private static Magma load(String name, OneDnnMode mode) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .oneDnn(mode).threads(2).load();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b"})
    void bf16PrefillStaysCloseToFp32AndGreedyTokensAgree(String name) throws IOException {
        try (CpuBackend probe = CpuBackend.builder().oneDnn(OneDnnMode.BF16).threads(1).build()) {
            Assumptions.assumeTrue(probe.oneDnnMode() == OneDnnMode.BF16, "oneDNN does not load here");
        }
        Generation fp32;
        Generation bf16;
        try (Magma m = load(name, OneDnnMode.FP32)) {
            fp32 = TinyGreedyRuns.greedy(m, name);
        }
        try (Magma m = load(name, OneDnnMode.BF16)) {
            bf16 = TinyGreedyRuns.greedy(m, name);
        }
        TinyGreedyRuns.Comparison c = TinyGreedyRuns.compare(fp32, bf16);
        System.out.printf("bf16 prefill vs fp32 on %s: greedy tokens agree %d/8, max logit error %.3g (max |logit| %.3g,"
                + " relative %.3g)%n", name, c.agreeingSteps(), c.worstError(), c.scale(), c.relativeError());
        assertThat(fp32.tokens()).containsExactly(TinyGreedyRuns.pytorchTokens(name));
        assertThat(c.agreeingSteps()).as("greedy tokens equal to fp32's").isEqualTo(TinyGreedyRuns.STEPS);
        // Positive: the bf16 path did run (identical logits would mean it was not used).
        assertThat(c.worstError()).isPositive().isLessThanOrEqualTo(LOGIT_TOLERANCE * c.scale());
    }

    @Test
    void theModeConfiguresTheBuiltInBackendOnly() {
        Path dir = FIXTURES.resolve("tiny_a");
        assertThatThrownBy(() -> Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")))
                .backend(new ReferenceBackend()).oneDnn(OneDnnMode.BF16).load())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("oneDnn(BF16)");
    }
}
