package io.github.magmajava.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.weights.ImagePrefixWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The image prefix on every backend against the double-precision oracle, on small random weights. */
class ImagePrefixTest {
    /** fp32 activations against a double oracle on the same fp16 weights: only rounding and summation order differ. */
    private static final double TOLERANCE = 1e-4;
    private static final int D = 12;

    private final SyntheticWeights random = new SyntheticWeights(3);

    static Stream<Arguments> backendsAndConfigs() {
        return Backends.times(ModifiedResNetTest.configs());
    }

    static Stream<Named<Backend>> backends() {
        return Backends.all();
    }

    @ParameterizedTest
    @MethodSource("backendsAndConfigs")
    void embeddingsMatchTheOracle(Backend backend, VisualConfig visual) {
        MagmaConfig config = SyntheticWeights.config(visual, D);
        ImagePrefixWeights weights = random.imagePrefix(config);
        ImagePrefix prefix = ImagePrefix.load(weights, config, backend);
        int s = visual.imageResolution();
        float[] image = random.image(s);

        float[] embeddings = prefix.encode(image);

        assertThat(prefix.tokens()).isEqualTo(visual.imageTokens());
        assertThat(prefix.dim()).isEqualTo(D);
        Close.assertClose("image prefix " + visual, embeddings,
                NaiveResNet.imagePrefix(NaiveResNet.Map3.of(image, 3, s, s), weights), TOLERANCE);
    }

    @Test
    void tokenHTimesGPlusWIsGridCellHW() {
        MagmaConfig config = SyntheticWeights.config(ModifiedResNetTest.OTHER, D);
        ImagePrefixWeights weights = random.imagePrefix(config);
        ImagePrefix prefix = ImagePrefix.load(weights, config, new ReferenceBackend());
        float[] image = random.image(96);
        FeatureMap grid = prefix.encoder().forward(image);
        int g = grid.height();

        float[] embeddings = prefix.encode(image);

        assertThat(g).isEqualTo(3);
        for (int h = 0; h < g; h++) {
            for (int w = 0; w < g; w++) {
                double[] expected = layerNormOfProjection(weights, grid, h, w);
                float[] row = new float[D];
                System.arraycopy(embeddings, (h * g + w) * D, row, 0, D);
                Close.assertClose("token " + (h * g + w) + " = cell (" + h + ", " + w + ")", row, expected, TOLERANCE);
            }
        }
        float[] cell01 = new float[D];
        float[] cell10 = new float[D];
        System.arraycopy(embeddings, D, cell01, 0, D);
        System.arraycopy(embeddings, g * D, cell10, 0, D);
        assertThat(cell01).as("a transposed grid would swap these").isNotEqualTo(cell10);
    }

    private static double[] layerNormOfProjection(ImagePrefixWeights weights, FeatureMap grid, int h, int w) {
        int c = grid.channels();
        double[] y = new double[D];
        for (int o = 0; o < D; o++) {
            double sum = weights.projBias().getFloat(o);
            for (int i = 0; i < c; i++) {
                sum += grid.data()[(i * grid.height() + h) * grid.width() + w] * (double) weights.projWeight().getFloat((long) o * c + i);
            }
            y[o] = sum;
        }
        double mean = Arrays.stream(y).average().orElseThrow();
        double var = Arrays.stream(y).map(v -> (v - mean) * (v - mean)).average().orElseThrow();
        for (int o = 0; o < D; o++) {
            y[o] = (y[o] - mean) / Math.sqrt(var + 1e-5) * weights.lnWeight().getFloat(o) + weights.lnBias().getFloat(o);
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("backends")
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentCallsGiveTheSequentialResult(Backend backend) throws Exception {
        MagmaConfig config = SyntheticWeights.config(ModifiedResNetTest.SMALL, D);
        ImagePrefix prefix = ImagePrefix.load(random.imagePrefix(config), config, backend);
        List<float[]> images = List.of(random.image(64), random.image(64), random.image(64), random.image(64));
        List<float[]> sequential = images.stream().map(prefix::encode).toList();

        List<Future<float[]>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            for (int round = 0; round < 2; round++) {
                for (float[] image : images) {
                    futures.add(pool.submit(() -> prefix.encode(image)));
                }
            }
        }

        for (int i = 0; i < futures.size(); i++) {
            Close.assertClose("concurrent call " + i, futures.get(i).get(), sequential.get(i % images.size()),
                    ModifiedResNetTest.REPEAT_TOLERANCE);
        }
    }

    @Test
    void anImageOfTheWrongLengthIsRefusedClearly() {
        MagmaConfig config = SyntheticWeights.config(ModifiedResNetTest.SMALL, D);
        ImagePrefix prefix = ImagePrefix.load(random.imagePrefix(config), config, new ReferenceBackend());

        assertThatThrownBy(() -> prefix.encode(new float[3 * 64 * 64 + 1]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 64, 64]")
                .hasMessageContaining("12288")
                .hasMessageContaining("12289");
    }

    @Test
    void aProjectionForAnotherModelWidthIsNamed() {
        MagmaConfig small = SyntheticWeights.config(ModifiedResNetTest.SMALL, D);
        ImagePrefixWeights weights = random.imagePrefix(SyntheticWeights.config(ModifiedResNetTest.SMALL, 2 * D));

        assertThatThrownBy(() -> ImagePrefix.load(weights, small, new ReferenceBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("image_prefix.proj.weight")
                .hasMessageContaining("[12, 128]");
    }

    @Test
    void encodeRunsAsTheImagePrefixPhaseOverEveryTensor() {
        MagmaConfig config = SyntheticWeights.config(ModifiedResNetTest.SMALL, D);
        ImagePrefix prefix = ImagePrefix.load(random.imagePrefix(config), config, new ReferenceBackend());

        // stem 3 + 5 blocks x 3 + 4 downsamples = 22 conv-BN pairs of 5 tensors, then proj and ln.
        assertThat(prefix.phase().weights()).hasSize(22 * 5 + 4);
        assertThat(prefix.phase().name()).isEqualTo("image prefix");
    }
}
