package io.github.magmajava.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The encoder on every backend against the unfused double-precision oracle, on small random weights. */
class ModifiedResNetTest {
    /** fp32 activations against a double oracle on the same fp16 weights: only rounding and summation order differ. */
    private static final double TOLERANCE = 1e-4;

    /** Between two runs on one backend: far below any real difference, above the last-ulp noise of vector reductions. */
    static final double REPEAT_TOLERANCE = 1e-6;

    static final VisualConfig SMALL = new VisualConfig(List.of(1, 2, 1, 1), 4, 64);
    static final VisualConfig OTHER = new VisualConfig(List.of(2, 1, 1, 2), 2, 96);

    static List<VisualConfig> configs() {
        return List.of(SMALL, OTHER);
    }

    static Stream<Arguments> backendsAndConfigs() {
        return Backends.times(configs());
    }

    static Stream<Named<Backend>> backends() {
        return Backends.all();
    }

    private final SyntheticWeights random = new SyntheticWeights(42);

    @ParameterizedTest
    @MethodSource("backends")
    void stemMatchesTheUnfusedOracle(Backend backend) {
        ResNetWeights weights = random.resnet(SMALL);
        ModifiedResNet resnet = ModifiedResNet.load(weights, SMALL, backend);
        float[] image = random.image(64);

        FeatureMap stem = resnet.stem().forward(FeatureMap.image(image, 64));

        NaiveResNet.Map3 expected = NaiveResNet.stem(NaiveResNet.Map3.of(image, 3, 64, 64), weights);
        assertThat(List.of(stem.channels(), stem.height(), stem.width())).containsExactly(4, 16, 16);
        Close.assertClose("stem", stem.data(), expected.v(), TOLERANCE);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void everyKindOfBottleneckMatchesTheOracle(Backend backend) {
        ResNetWeights weights = random.resnet(SMALL);
        ModifiedResNet resnet = ModifiedResNet.load(weights, SMALL, backend);
        // stage 1 block 0: downsample without pooling; stage 2 block 0: pooled, strided; stage 2 block 1: plain identity.
        int[][] cases = {{0, 0, 4, 16}, {1, 0, 16, 16}, {1, 1, 32, 8}};
        for (int[] c : cases) {
            Bottleneck block = resnet.stages().get(c[0]).get(c[1]);
            BottleneckWeights blockWeights = weights.stages().get(c[0]).get(c[1]);
            float[] input = random.uniform(c[2] * c[3] * c[3], 1.5f);

            FeatureMap out = block.forward(new FeatureMap(input.clone(), c[2], c[3], c[3]));

            NaiveResNet.Map3 expected = NaiveResNet.bottleneck(NaiveResNet.Map3.of(input, c[2], c[3], c[3]), blockWeights);
            String name = "stage " + (c[0] + 1) + " block " + c[1];
            assertThat(out.height()).as(name).isEqualTo(expected.h());
            assertThat(out.channels()).as(name).isEqualTo(expected.c());
            assertThat(block.hasDownsample()).as(name).isEqualTo(c[1] == 0);
            Close.assertClose(name, out.data(), expected.v(), TOLERANCE);
        }
    }

    @ParameterizedTest
    @MethodSource("backendsAndConfigs")
    void wholeEncoderMatchesTheOracle(Backend backend, VisualConfig config) {
        ResNetWeights weights = random.resnet(config);
        ModifiedResNet resnet = ModifiedResNet.load(weights, config, backend);
        int s = config.imageResolution();
        float[] image = random.image(s);
        float[] original = image.clone();

        FeatureMap grid = resnet.forward(image);

        NaiveResNet.Map3 expected = NaiveResNet.resnet(NaiveResNet.Map3.of(image, 3, s, s), weights);
        assertThat(List.of(grid.channels(), grid.height(), grid.width()))
                .containsExactly(config.outputChannels(), config.gridSize(), config.gridSize());
        Close.assertClose("encoder " + config, grid.data(), expected.v(), TOLERANCE);
        assertThat(image).as("the caller's image").isEqualTo(original);
        // Repeatable up to rounding: the CPU backend's vector reductions may round differently once JIT-compiled.
        Close.assertClose("a second call", resnet.forward(image).data(), grid.data(), REPEAT_TOLERANCE);
    }

    @Test
    void anImageOfTheWrongSizeIsRefusedWithTheExpectedShape() {
        ModifiedResNet resnet = ModifiedResNet.load(random.resnet(SMALL), SMALL, new ReferenceBackend());

        assertThatThrownBy(() -> resnet.forward(new float[3 * 32 * 32]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 64, 64]")
                .hasMessageContaining("12288");
    }

    @Test
    void weightsOfAnotherWidthAreRefusedNamingTheTensor() {
        ResNetWeights wide = random.resnet(new VisualConfig(List.of(1, 2, 1, 1), 8, 64));

        assertThatThrownBy(() -> ModifiedResNet.load(wide, SMALL, new ReferenceBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("image_prefix.enc.conv1.weight")
                .hasMessageContaining("[2, 3, 3, 3]");
    }

    @Test
    void stageDepthsMustMatchTheConfig() {
        ResNetWeights deeper = random.resnet(new VisualConfig(List.of(1, 3, 1, 1), 4, 64));

        assertThatThrownBy(() -> ModifiedResNet.load(deeper, SMALL, new ReferenceBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stage 2 has 3 blocks");
    }

    @Test
    void aMissingDownsampleIsNamed() {
        ResNetWeights weights = random.resnet(SMALL);
        List<List<BottleneckWeights>> stages = new ArrayList<>(weights.stages());
        BottleneckWeights first = stages.get(2).get(0);
        stages.set(2, List.of(new BottleneckWeights(first.conv1(), first.conv2(), first.conv3(), Optional.empty(), 2)));
        ResNetWeights broken = new ResNetWeights(weights.stem1(), weights.stem2(), weights.stem3(), stages);

        assertThatThrownBy(() -> ModifiedResNet.load(broken, SMALL, new ReferenceBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("image_prefix.enc.layer3.0.conv1.weight")
                .hasMessageContaining("downsample");
    }
}
