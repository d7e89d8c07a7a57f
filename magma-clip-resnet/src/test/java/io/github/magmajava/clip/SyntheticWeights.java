package io.github.magmajava.clip;

import io.github.magmajava.config.AdapterConfig;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import io.github.magmajava.weights.ImagePrefixWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/** Seeded random fp16 weights in the checkpoint's layout and names, for any visual config. */
final class SyntheticWeights {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Random random;

    SyntheticWeights(long seed) {
        this.random = new Random(seed);
    }

    /** A MAGMA config with the given image encoder and a tiny decoder of width {@code d}. */
    static MagmaConfig config(VisualConfig visual, int d) {
        return new MagmaConfig("synthetic", visual,
                new TransformerConfig(1, d, 2, 2, 10000, 64, 60, visual.imageTokens() + 16, 16),
                new AdapterConfig(2, false));
    }

    ImagePrefixWeights imagePrefix(MagmaConfig config) {
        int d = config.transformer().hiddenSize();
        int c = config.visual().outputChannels();
        return new ImagePrefixWeights(resnet(config.visual()),
                tensor("image_prefix.proj.weight", uniform(d * c, 1 / Math.sqrt(c)), d, c),
                tensor("image_prefix.proj.bias", uniform(d, 0.1), d),
                tensor("image_prefix.ln.weight", around(d, 1, 0.5), d),
                tensor("image_prefix.ln.bias", uniform(d, 0.2), d));
    }

    ResNetWeights resnet(VisualConfig v) {
        String enc = "image_prefix.enc.";
        int w = v.width();
        ConvBn stem1 = convBn(enc + "conv1", enc + "bn1", w / 2, 3, 3);
        ConvBn stem2 = convBn(enc + "conv2", enc + "bn2", w / 2, w / 2, 3);
        ConvBn stem3 = convBn(enc + "conv3", enc + "bn3", w, w / 2, 3);
        List<List<BottleneckWeights>> stages = new ArrayList<>();
        int inplanes = w;
        for (int s = 0; s < 4; s++) {
            int planes = w << s;
            List<BottleneckWeights> blocks = new ArrayList<>();
            for (int i = 0; i < v.layers().get(s); i++) {
                blocks.add(bottleneck(enc + "layer" + (s + 1) + "." + i + ".", inplanes, planes, i == 0 ? (s == 0 ? 1 : 2) : 1, i == 0));
                inplanes = 4 * planes;
            }
            stages.add(blocks);
        }
        return new ResNetWeights(stem1, stem2, stem3, stages);
    }

    BottleneckWeights bottleneck(String p, int inplanes, int planes, int stride, boolean downsample) {
        return new BottleneckWeights(
                convBn(p + "conv1", p + "bn1", planes, inplanes, 1),
                convBn(p + "conv2", p + "bn2", planes, planes, 3),
                convBn(p + "conv3", p + "bn3", 4 * planes, planes, 1),
                downsample ? Optional.of(convBn(p + "downsample.0", p + "downsample.1", 4 * planes, inplanes, 1)) : Optional.empty(),
                stride);
    }

    ConvBn convBn(String conv, String bn, int out, int in, int k) {
        return new ConvBn(tensor(conv + ".weight", uniform(out * in * k * k, Math.sqrt(3.0 / (in * k * k))), out, in, k, k),
                new BatchNormWeights(
                        tensor(bn + ".weight", around(out, 1, 0.5), out),
                        tensor(bn + ".bias", uniform(out, 0.2), out),
                        tensor(bn + ".running_mean", uniform(out, 0.3), out),
                        tensor(bn + ".running_var", around(out, 1.25, 0.75), out)));
    }

    /** Values uniform in [-scale, scale]. */
    float[] uniform(int n, double scale) {
        return around(n, 0, scale);
    }

    float[] around(int n, double center, double spread) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (center + spread * (2 * random.nextDouble() - 1));
        }
        return v;
    }

    /** A preprocessed-looking image [3, size, size]. */
    float[] image(int size) {
        return uniform(3 * size * size, 2);
    }

    /** An fp16 tensor written explicitly little-endian, as a checkpoint stores it. */
    static Tensor tensor(String name, float[] values, long... shape) {
        MemorySegment data = MemorySegment.ofArray(new byte[values.length * 2]);
        for (int i = 0; i < values.length; i++) {
            data.setAtIndex(F16, i, Float.floatToFloat16(values[i]));
        }
        return new Tensor(name, DType.FLOAT16, shape, data);
    }
}
