package io.github.magmajava.clip;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.Npy;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TorchCheckpoint;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The encoder against PyTorch: the tiny MAGMA models of tools/fixtures/magma_reference.py (a real
 * torch.save checkpoint in the official layout, fp16 weights, float32 reference computed from
 * them), on every backend.
 */
@Tag("vector-width")
class PyTorchParityTest {
    /** Max abs error <= 1e-3 * max(1, max|reference|): float32 on both sides, only BN folding and summation order differ. */
    private static final double TOLERANCE = 1e-3;
    private static final Pattern SAVED_BLOCK = Pattern.compile("stage(\\d)_block(\\d+)_input\\.npy");

    static Stream<Arguments> fixturesAndBackends() {
        return Backends.times(List.of("tiny_a", "tiny_b", "tiny_c")).map(a -> Arguments.of(a.get()[1], a.get()[0]));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("fixturesAndBackends")
    void imagePrefixMatchesPyTorch(String fixture, Backend backend) throws IOException {
        Path dir = Path.of(System.getProperty("magma.fixtures")).resolve("magma").resolve(fixture);
        MagmaConfig config = MagmaConfig.fromJson(dir.resolve("config.json"));
        try (TensorFile file = TorchCheckpoint.open(dir.resolve("model.pt"))) {
            ImagePrefix prefix = ImagePrefix.load(MagmaWeights.bind(file, config).imagePrefix(), config, backend);
            ModifiedResNet resnet = prefix.encoder();
            float[] image = Npy.read(dir.resolve("image.npy")).data();

            FeatureMap stem = resnet.stem().forward(FeatureMap.image(image, config.visual().imageResolution()));
            Close.assertClose(fixture + " stem", stem.data(), npy(dir, "stem.npy"), TOLERANCE);

            int withDownsample = 0;
            int withoutDownsample = 0;
            for (Path input : savedBlockInputs(dir)) {
                Matcher m = SAVED_BLOCK.matcher(input.getFileName().toString());
                assertThat(m.matches()).isTrue();
                Bottleneck block = resnet.stages().get(Integer.parseInt(m.group(1)) - 1).get(Integer.parseInt(m.group(2)));
                Npy.NpyArray x = Npy.read(input);
                assertThat(x.rank()).as(input + " is [C, h, w]").isEqualTo(3);
                FeatureMap out = block.forward(new FeatureMap(x.data(), (int) x.dim(0), (int) x.dim(1), (int) x.dim(2)));
                String name = "stage" + m.group(1) + "_block" + m.group(2);
                Close.assertClose(fixture + " " + name, out.data(), npy(dir, name + ".npy"), TOLERANCE);
                if (block.hasDownsample()) {
                    withDownsample++;
                } else {
                    withoutDownsample++;
                }
            }
            assertThat(withDownsample).as("saved blocks with a downsample path").isPositive();
            assertThat(withoutDownsample).as("saved blocks with an identity shortcut").isPositive();

            Close.assertClose(fixture + " resnet", resnet.forward(image).data(), npy(dir, "resnet.npy"), TOLERANCE);
            Close.assertClose(fixture + " image embeddings", prefix.encode(image), npy(dir, "image_embeddings.npy"), TOLERANCE);
        }
    }

    private static float[] npy(Path dir, String name) throws IOException {
        return Npy.read(dir.resolve(name)).data();
    }

    private static List<Path> savedBlockInputs(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> SAVED_BLOCK.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
    }
}
