package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.ConvBn;
import java.util.Arrays;

/**
 * A bias-free convolution with its eval-mode BatchNorm folded in:
 * {@code w' = w * gamma / sqrt(var + eps)}, {@code b' = beta - mean * gamma / sqrt(var + eps)},
 * computed in double from the checkpoint's (fp16) values and rounded once to float.
 *
 * @param name   the checkpoint's name of the convolution weight
 * @param weight [outChannels, inChannels, kernel, kernel]
 * @param bias   [outChannels]
 */
public record FoldedConv(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel) {

    /** PyTorch's BatchNorm2d default, which CLIP keeps. */
    public static final double BATCH_NORM_EPS = 1e-5;

    public static FoldedConv fold(ConvBn convBn) {
        Tensor conv = convBn.conv();
        if (conv.rank() != 4 || conv.dim(2) != conv.dim(3) || !conv.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("convolution weight " + conv.name()
                    + " must be a float tensor [out, in, k, k], found " + conv.describe());
        }
        int out = (int) conv.dim(0);
        int in = (int) conv.dim(1);
        int k = (int) conv.dim(2);
        BatchNormWeights bn = convBn.bn();
        for (Tensor t : new Tensor[] {bn.weight(), bn.bias(), bn.runningMean(), bn.runningVar()}) {
            if (!t.hasShape(out) || !t.dtype().isFloatingPoint()) {
                throw new IllegalArgumentException("BatchNorm tensor " + t.name() + " must be a float tensor [" + out
                        + "] to match " + conv.name() + ", found " + t.describe());
            }
        }
        if (conv.numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("convolution weight " + conv.name() + " " + conv.describe() + " is too large");
        }
        int perOutput = in * k * k;
        float[] weight = new float[out * perOutput];
        float[] bias = new float[out];
        for (int o = 0; o < out; o++) {
            double variance = bn.runningVar().getFloat(o);
            if (!(variance >= 0)) {
                throw new IllegalArgumentException("BatchNorm running variance " + bn.runningVar().name() + "[" + o
                        + "] must be >= 0, found " + variance);
            }
            double scale = bn.weight().getFloat(o) / Math.sqrt(variance + BATCH_NORM_EPS);
            bias[o] = (float) (bn.bias().getFloat(o) - bn.runningMean().getFloat(o) * scale);
            for (int i = o * perOutput; i < (o + 1) * perOutput; i++) {
                weight[i] = (float) (conv.getFloat(i) * scale);
            }
        }
        return new FoldedConv(conv.name(), weight, bias, in, out, k);
    }

    /** The folded convolution as the backend runs it. */
    public Conv2d prepare(Backend backend, int stride, int padding) {
        return backend.conv2d(name, weight, bias, inChannels, outChannels, kernel, stride, padding);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FoldedConv f && name.equals(f.name) && inChannels == f.inChannels && outChannels == f.outChannels && kernel == f.kernel
                && Arrays.equals(weight, f.weight) && Arrays.equals(bias, f.bias);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(weight) + Arrays.hashCode(bias);
    }

    @Override
    public String toString() {
        return "FoldedConv[" + outChannels + ", " + inChannels + ", " + kernel + ", " + kernel + "]";
    }
}
