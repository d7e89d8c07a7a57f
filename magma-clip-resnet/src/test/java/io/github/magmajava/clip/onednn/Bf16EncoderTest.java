package io.github.magmajava.clip.onednn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.Npy;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TorchCheckpoint;
import io.github.magmajava.weights.ImagePrefixWeights;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bf16 encoder on oneDNN 3 against PyTorch's float32 reference on the tiny fixtures. bf16
 * keeps 8 significant bits: every weight and every activation between layers is rounded to it,
 * so the projection (before the LayerNorm) is within {@link #PROJECTION_TOLERANCE} of its scale
 * and the LayerNorm's output within {@link #EMBEDDING_TOLERANCE}, not float32's 1e-3 (measured:
 * projection 4.8e-3 / 6.8e-3 / 5.5e-3, embeddings 3.9e-3 / 6.4e-3 / 7.0e-3 on tiny_a / b / c).
 */
class Bf16EncoderTest {
    /** Max abs error of the projection, relative to max(1, max|reference|). */
    static final double PROJECTION_TOLERANCE = 1.5e-2;
    /** Max abs error of the image embeddings (after the LayerNorm), relative to max(1, max|reference|). */
    static final double EMBEDDING_TOLERANCE = 1.5e-2;

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void matchesPyTorchWithinBf16Rounding(String fixture) throws IOException {
        assumeTrue(Dnnl.load().isPresent(), () -> "oneDNN 3 does not load here: " + Dnnl.unavailableReason().orElse(""));
        Path dir = Path.of(System.getProperty("magma.fixtures")).resolve("magma").resolve(fixture);
        MagmaConfig config = MagmaConfig.fromJson(dir.resolve("config.json"));
        try (TensorFile file = TorchCheckpoint.open(dir.resolve("model.pt"))) {
            ImagePrefixWeights weights = MagmaWeights.bind(file, config).imagePrefix();
            Optional<Bf16Encoder> created = Bf16Encoder.create(weights.encoder(), config.visual(), weights.projWeight(),
                    weights.projBias(), 2);
            assumeTrue(created.isPresent(), "oneDNN 3 has no bf16 kernels on this CPU");
            try (Bf16Encoder encoder = created.get()) {
                float[] image = Npy.read(dir.resolve("image.npy")).data();
                float[] projection = encoder.encode(image);
                double projectionError = relativeError(projection, Npy.read(dir.resolve("image_proj.npy")).data());
                float[] embeddings = projection.clone();
                int d = config.transformer().hiddenSize();
                new ReferenceBackend().layerNorm(embeddings, embeddings.length / d, d, weights.lnWeight().toFloatArray(),
                        weights.lnBias().toFloatArray(), ImagePrefix.LAYER_NORM_EPS, embeddings);
                double embeddingError = relativeError(embeddings, Npy.read(dir.resolve("image_embeddings.npy")).data());
                System.out.printf("%s bf16 encoder: projection %.2e, embeddings %.2e of scale (%s)%n", fixture, projectionError,
                        embeddingError, encoder.implementations());
                assertThat(projectionError).as(fixture + " projection").isLessThanOrEqualTo(PROJECTION_TOLERANCE);
                assertThat(embeddingError).as(fixture + " embeddings").isLessThanOrEqualTo(EMBEDDING_TOLERANCE);
                assertThat(encoder.encode(image)).as("a second call gives the same values").isEqualTo(projection);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void imagePrefixOnABf16BackendEncodesInBf16(String fixture) throws IOException {
        assumeTrue(Dnnl.load().isPresent(), () -> "oneDNN 3 does not load here: " + Dnnl.unavailableReason().orElse(""));
        Path dir = Path.of(System.getProperty("magma.fixtures")).resolve("magma").resolve(fixture);
        MagmaConfig config = MagmaConfig.fromJson(dir.resolve("config.json"));
        try (TensorFile file = TorchCheckpoint.open(dir.resolve("model.pt"));
                CpuBackend backend = CpuBackend.withThreads(2, OneDnnMode.BF16)) {
            assumeTrue(backend.oneDnnMode() == OneDnnMode.BF16, "no bf16 oneDNN on this CPU");
            try (ImagePrefix prefix = ImagePrefix.load(MagmaWeights.bind(file, config).imagePrefix(), config, backend)) {
                assertThat(prefix.bf16()).as("bf16 backend: the image prefix runs on oneDNN 3").isTrue();
                float[] image = Npy.read(dir.resolve("image.npy")).data();
                float[] expected = Npy.read(dir.resolve("image_embeddings.npy")).data();
                assertThat(relativeError(prefix.encode(image), expected)).as(fixture + " embeddings")
                        .isLessThanOrEqualTo(EMBEDDING_TOLERANCE);
                assertThat(relativeError(prefix.encoder().forward(image).data(), Npy.read(dir.resolve("resnet.npy")).data()))
                        .as("the float32 encoder is still there on request").isLessThanOrEqualTo(1e-3);
            }
        }
        try (TensorFile file = TorchCheckpoint.open(dir.resolve("model.pt"));
                CpuBackend backend = CpuBackend.withThreads(2, OneDnnMode.FP32);
                ImagePrefix prefix = ImagePrefix.load(MagmaWeights.bind(file, config).imagePrefix(), config, backend)) {
            assertThat(prefix.bf16()).as("fp32 backend: float32 encoder").isFalse();
        }
    }

    /** max|actual - expected| / max(1, max|expected|). */
    static double relativeError(float[] actual, float[] expected) {
        assertThat(actual).hasSize(expected.length);
        double scale = 1;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        return worst / scale;
    }
}
