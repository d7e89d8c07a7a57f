package io.github.magmajava.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.ConvBn;
import org.junit.jupiter.api.Test;

class FoldedConvTest {
    private final SyntheticWeights random = new SyntheticWeights(7);

    @Test
    void foldedConvolutionEqualsConvolutionThenBatchNorm() {
        for (int[] geometry : new int[][] {{3, 5, 3, 2, 1}, {6, 4, 1, 1, 0}, {4, 4, 3, 1, 1}}) {
            int in = geometry[0], out = geometry[1], k = geometry[2], stride = geometry[3], padding = geometry[4];
            ConvBn convBn = random.convBn("conv", "bn", out, in, k);
            NaiveResNet.Map3 x = NaiveResNet.Map3.of(random.uniform(in * 9 * 7, 2), in, 9, 7);

            NaiveResNet.Map3 expected = NaiveResNet.convBn(x, convBn, stride, padding);
            Conv2d folded = FoldedConv.fold(convBn).prepare(new ReferenceBackend(), stride, padding);
            float[] actual = new float[expected.v().length];
            float[] input = new float[x.v().length];
            for (int i = 0; i < input.length; i++) {
                input[i] = (float) x.v()[i];
            }
            folded.forward(input, 9, 7, actual);

            assertThat(folded.outSize(9) * folded.outSize(7) * out).isEqualTo(actual.length);
            Close.assertClose("conv " + k + "x" + k + " stride " + stride + " + BN", actual, expected.v(), 1e-5);
        }
    }

    @Test
    void foldsInDoubleFromTheStoredHalfPrecisionValues() {
        Tensor conv = SyntheticWeights.tensor("c.weight", new float[] {0.1f, -2.5f, 1 / 3f, 7f}, 2, 2, 1, 1);
        BatchNormWeights bn = new BatchNormWeights(
                SyntheticWeights.tensor("bn.weight", new float[] {1.5f, 0.3f}, 2),
                SyntheticWeights.tensor("bn.bias", new float[] {0.25f, -0.1f}, 2),
                SyntheticWeights.tensor("bn.running_mean", new float[] {0.7f, -3f}, 2),
                SyntheticWeights.tensor("bn.running_var", new float[] {0.01f, 4.2f}, 2));

        FoldedConv folded = FoldedConv.fold(new ConvBn(conv, bn));

        for (int o = 0; o < 2; o++) {
            double scale = (double) bn.weight().getFloat(o) / Math.sqrt((double) bn.runningVar().getFloat(o) + 1e-5);
            assertThat(folded.bias()[o]).isEqualTo((float) (bn.bias().getFloat(o) - bn.runningMean().getFloat(o) * scale));
            for (int i = 0; i < 2; i++) {
                assertThat(folded.weight()[o * 2 + i]).isEqualTo((float) (conv.getFloat(o * 2 + i) * scale));
            }
        }
        // 0.1 is not a half: the fold reads the rounded fp16 value, as PyTorch does on the checkpoint.
        double scale0 = 1.5 / Math.sqrt((double) bn.runningVar().getFloat(0) + 1e-5);
        assertThat(folded.weight()[0]).isNotEqualTo((float) (0.1 * scale0));
        assertThat(folded.inChannels()).isEqualTo(2);
        assertThat(folded.outChannels()).isEqualTo(2);
        assertThat(folded.kernel()).isEqualTo(1);
    }

    @Test
    void batchNormOfTheWrongLengthIsNamed() {
        ConvBn good = random.convBn("layer1.0.conv1", "layer1.0.bn1", 4, 3, 1);
        BatchNormWeights shortMean = new BatchNormWeights(good.bn().weight(), good.bn().bias(),
                SyntheticWeights.tensor("layer1.0.bn1.running_mean", new float[3], 3), good.bn().runningVar());

        assertThatThrownBy(() -> FoldedConv.fold(new ConvBn(good.conv(), shortMean)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layer1.0.bn1.running_mean")
                .hasMessageContaining("[4]");
    }

    @Test
    void negativeVarianceIsRefused() {
        ConvBn good = random.convBn("conv", "bn", 2, 2, 1);
        BatchNormWeights negative = new BatchNormWeights(good.bn().weight(), good.bn().bias(), good.bn().runningMean(),
                SyntheticWeights.tensor("bn.running_var", new float[] {1f, -0.5f}, 2));

        assertThatThrownBy(() -> FoldedConv.fold(new ConvBn(good.conv(), negative)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bn.running_var[1]");
    }

    @Test
    void nonSquareKernelIsRefused() {
        Tensor conv = SyntheticWeights.tensor("odd.weight", new float[2 * 2 * 3], 2, 2, 1, 3);
        ConvBn good = random.convBn("conv", "bn", 2, 2, 1);

        assertThatThrownBy(() -> FoldedConv.fold(new ConvBn(conv, good.bn())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("odd.weight");
    }
}
