package io.github.magmajava.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.clip.FeatureMap;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.config.AdapterConfig;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Timings mean something only if the random models compute on ordinary numbers: no overflow, no
 * NaN, no collapse toward subnormals over the depth of the real networks.
 */
class RandomWeightsTest {

    @Test
    void fp16TensorsHaveTheRequestedSpread() {
        try (RandomWeights random = new RandomWeights(11)) {
            Tensor t = random.fp16("w", 0.02, 1000, 1000);
            double sum = 0;
            double squares = 0;
            for (long i = 0; i < t.numel(); i++) {
                double v = t.getFloat(i);
                sum += v;
                squares += v * v;
            }
            double mean = sum / t.numel();
            double std = Math.sqrt(squares / t.numel() - mean * mean);
            assertThat(mean).isBetween(-2e-4, 2e-4);
            assertThat(std).isBetween(0.0198, 0.0202);
        }
    }

    @Test
    void sameSeedSameValues() {
        try (RandomWeights a = new RandomWeights(3); RandomWeights b = new RandomWeights(3); RandomWeights c = new RandomWeights(4)) {
            assertThat(a.activations(100)).containsExactly(b.activations(100));
            assertThat(a.activations(100)).isNotEqualTo(c.activations(100));
        }
    }

    /** RN50x16's depth (6, 8, 18, 8 blocks) at a small width: the grid stays O(1). */
    @Test
    void resnetActivationsStayOrdinaryOverTheFullDepth() {
        MagmaConfig config = new MagmaConfig("deep_narrow", new VisualConfig(List.of(6, 8, 18, 8), 8, 64),
                new TransformerConfig(1, 32, 2, 8, 10000, 16, 16, 64, 32), new AdapterConfig(4, false));
        try (RandomWeights random = new RandomWeights(12); CpuBackend backend = CpuBackend.withThreads(1)) {
            ImagePrefix prefix = ImagePrefix.load(random.imagePrefix(config), config, backend);
            FeatureMap grid = prefix.encoder().forward(random.activations(3 * 64 * 64));
            assertThat(rms(grid.data())).isBetween(0.1, 100.0);
            assertFinite(prefix.encode(random.activations(3 * 64 * 64)));
        }
    }

    @Test
    void oneBlockModelGivesFiniteLogitsForPrefillAndDecode() {
        MagmaConfig small = new MagmaConfig("small", new VisualConfig(List.of(1, 1, 1, 1), 8, 64),
                new TransformerConfig(4, 64, 4, 8, 10000, 100, 100, 256, 200), new AdapterConfig(4, false));
        try (OneBlockModel block = new OneBlockModel(small, 2)) {
            var cache = block.model.newCache(OneBlockModel.PROMPT + 1);
            float[] prefill = block.model.forward(block.embeddings(OneBlockModel.PROMPT), OneBlockModel.PROMPT, cache);
            float[] step = block.model.forward(block.embeddings(1), 1, cache);
            assertThat(prefill).hasSize(16);
            assertFinite(prefill);
            assertFinite(step);
            assertThat(rms(step)).isGreaterThan(1e-3);
            assertThat(cache.length()).isEqualTo(OneBlockModel.PROMPT + 1);
        }
    }

    private static void assertFinite(float[] x) {
        for (int i = 0; i < x.length; i++) {
            assertThat(x[i]).as("element %d", i).isFinite();
        }
    }

    private static double rms(float[] x) {
        double s = 0;
        for (float v : x) {
            s += (double) v * v;
        }
        return Math.sqrt(s / x.length);
    }
}
