package io.github.magmajava.bench;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import io.github.magmajava.weights.ImagePrefixWeights;
import io.github.magmajava.weights.LanguageModelWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.LongStream;

/**
 * Random fp16 weights at the real MAGMA shapes, in native memory laid out like a mapped
 * checkpoint (little-endian, contiguous), so kernels read them exactly as they read the real file.
 * Values are uniform with a chosen standard deviation: timings do not depend on them, but they
 * must stay finite and away from subnormals through a whole network. Closing frees every tensor.
 */
final class RandomWeights implements AutoCloseable {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long CHUNK = 1 << 20;

    private final Arena arena = Arena.ofShared();
    private final long seed;
    private long streams;

    RandomWeights(long seed) {
        this.seed = seed;
    }

    /** A fresh stream for every tensor: instances with different seeds never share one. */
    private long nextStream() {
        return SplitMix.mix(seed * 0xD1342543DE82EF95L + ++streams * 0x9E3779B97F4A7C15L);
    }

    /** A float16 tensor, uniform with standard deviation {@code std}. */
    Tensor fp16(String name, double std, long... shape) {
        long n = Tensor.numel(shape);
        MemorySegment data = arena.allocate(n * 2, 64);
        float amplitude = (float) (std * Math.sqrt(3));
        long stream = nextStream();
        LongStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().forEach(c -> {
            SplitMix random = new SplitMix(SplitMix.mix(stream + c));
            for (long i = c * CHUNK, end = Math.min(n, i + CHUNK); i < end; i++) {
                data.setAtIndex(F16, i, Float.floatToFloat16(random.uniform() * amplitude));
            }
        });
        return new Tensor(name, DType.FLOAT16, shape, data);
    }

    /** A float16 tensor with every element {@code value}. */
    Tensor constant(String name, float value, long... shape) {
        long n = Tensor.numel(shape);
        MemorySegment data = arena.allocate(n * 2, 64);
        short bits = Float.floatToFloat16(value);
        for (long i = 0; i < n; i++) {
            data.setAtIndex(F16, i, bits);
        }
        return new Tensor(name, DType.FLOAT16, shape, data);
    }

    /** A heap activation of {@code n} floats, uniform in [-1, 1). */
    float[] activations(int n) {
        SplitMix random = new SplitMix(nextStream());
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.uniform();
        }
        return x;
    }

    /** fp32 weights (e.g. a BatchNorm-folded convolution) with He-scaled values for {@code fanIn}. */
    float[] heWeights(int n, int fanIn) {
        float[] w = activations(n);
        float scale = (float) Math.sqrt(2.0 / fanIn * 3);
        for (int i = 0; i < n; i++) {
            w[i] *= scale;
        }
        return w;
    }

    /** The image prefix of {@code config}: CLIP's ModifiedResNet (He-initialised, identity BatchNorms), proj and ln. */
    ImagePrefixWeights imagePrefix(MagmaConfig config) {
        VisualConfig v = config.visual();
        int d = config.transformer().hiddenSize();
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
                String p = enc + "layer" + (s + 1) + "." + i + ".";
                Optional<ConvBn> down = i == 0
                        ? Optional.of(convBn(p + "downsample.0", p + "downsample.1", planes * 4, inplanes, 1))
                        : Optional.empty();
                blocks.add(new BottleneckWeights(
                        convBn(p + "conv1", p + "bn1", planes, inplanes, 1),
                        convBn(p + "conv2", p + "bn2", planes, planes, 3),
                        // The residual branch starts small, as in a trained ResNet, so activations stay O(1) over 40 blocks.
                        convBn(p + "conv3", p + "bn3", planes * 4, planes, 1, 0.2),
                        down, i == 0 && s > 0 ? 2 : 1));
                inplanes = planes * 4;
            }
            stages.add(blocks);
        }
        int c = v.outputChannels();
        return new ImagePrefixWeights(new ResNetWeights(stem1, stem2, stem3, stages),
                fp16("image_prefix.proj.weight", 1 / Math.sqrt(c), d, c), fp16("image_prefix.proj.bias", 0.01, d),
                constant("image_prefix.ln.weight", 1, d), constant("image_prefix.ln.bias", 0, d));
    }

    /**
     * GPT-J with {@code t.layers()} blocks and MAGMA's adapters, GPT-J's init scale (std 0.02). The
     * embedding and LM head follow {@code t}'s vocabulary sizes.
     */
    LanguageModelWeights languageModel(MagmaConfig config) {
        TransformerConfig t = config.transformer();
        long d = t.hiddenSize();
        long mlp = t.mlpSize();
        long bottleneck = d / config.adapter().downsampleFactor();
        List<BlockWeights> blocks = new ArrayList<>();
        for (int n = 0; n < t.layers(); n++) {
            String p = "lm.transformer.h." + n + ".";
            String a = p + "attn.attention.";
            blocks.add(new BlockWeights(
                    constant(p + "ln_1.weight", 1, d), constant(p + "ln_1.bias", 0, d),
                    fp16(a + "q_proj.weight", 0.02, d, d), fp16(a + "k_proj.weight", 0.02, d, d),
                    fp16(a + "v_proj.weight", 0.02, d, d), fp16(a + "out_proj.weight", 0.02, d, d),
                    fp16(p + "mlp.0.c_fc.weight", 0.02, mlp, d), fp16(p + "mlp.0.c_fc.bias", 0.002, mlp),
                    fp16(p + "mlp.0.c_proj.weight", 0.02, d, mlp), fp16(p + "mlp.0.c_proj.bias", 0.002, d),
                    fp16(p + "mlp.1.adapter.0.weight", 0.02, bottleneck, d), fp16(p + "mlp.1.adapter.0.bias", 0.002, bottleneck),
                    fp16(p + "mlp.1.adapter.2.weight", 0.02, d, bottleneck), fp16(p + "mlp.1.adapter.2.bias", 0.002, d)));
        }
        return new LanguageModelWeights(fp16("lm.transformer.wte.weight", 0.02, t.realVocabSize(), d), blocks,
                constant("lm.transformer.ln_f.weight", 1, d), constant("lm.transformer.ln_f.bias", 0, d),
                fp16("lm.lm_head.weight", 0.02, t.vocabSize(), d), fp16("lm.lm_head.bias", 0.002, t.vocabSize()));
    }

    private ConvBn convBn(String conv, String bn, int out, int in, int k) {
        return convBn(conv, bn, out, in, k, 1);
    }

    private ConvBn convBn(String conv, String bn, int out, int in, int k, double gain) {
        return new ConvBn(fp16(conv + ".weight", gain * Math.sqrt(2.0 / (in * k * k)), out, in, k, k), new BatchNormWeights(
                constant(bn + ".weight", 1, out), constant(bn + ".bias", 0, out),
                constant(bn + ".running_mean", 0, out), constant(bn + ".running_var", 1, out)));
    }

    @Override
    public void close() {
        arena.close();
    }

    /** SplitMix64: a fast, seedable generator good enough for test data. */
    private static final class SplitMix {
        private long state;

        SplitMix(long seed) {
            this.state = seed;
        }

        /** Uniform in [-1, 1). */
        float uniform() {
            return (mix(state += 0x9E3779B97F4A7C15L) >>> 40) * 0x1p-23f - 1;
        }

        static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }
}
