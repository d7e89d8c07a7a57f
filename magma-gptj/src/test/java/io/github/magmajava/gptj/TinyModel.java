package io.github.magmajava.gptj;

import io.github.magmajava.config.AdapterConfig;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.LanguageModelWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small random GPT-J weights named as in the checkpoint, for tests that need no fixture. */
final class TinyModel {
    /** 2 layers, d 32, 4 heads of 8 with rotary on 4 dims, 40 logits of which 37 have embeddings, 24 positions. */
    static final MagmaConfig CONFIG = config(2, 32, 4, 4, 40, 37, 24);

    private TinyModel() {
    }

    static MagmaConfig config(int layers, int hidden, int heads, int rotaryDim, int vocab, int realVocab, int maxPositions) {
        return new MagmaConfig("tiny",
                new VisualConfig(List.of(1, 1, 1, 1), 2, 32),
                new TransformerConfig(layers, hidden, heads, rotaryDim, 10000, vocab, realVocab, maxPositions, maxPositions - 1),
                new AdapterConfig(4, false));
    }

    static LanguageModelWeights weights(MagmaConfig config, DType dtype, long seed) {
        TransformerConfig t = config.transformer();
        int d = t.hiddenSize();
        int mlp = t.mlpSize();
        int b = d / config.adapter().downsampleFactor();
        Random rnd = new Random(seed);
        List<BlockWeights> blocks = new ArrayList<>();
        for (int n = 0; n < t.layers(); n++) {
            String p = "lm.transformer.h." + n + ".";
            String a = p + "attn.attention.";
            blocks.add(new BlockWeights(
                    random(p + "ln_1.weight", dtype, rnd, 0.2, 1, d), random(p + "ln_1.bias", dtype, rnd, 0.2, 0, d),
                    // large q and k so the softmax is far from uniform and positions matter
                    linear(a + "q_proj.weight", dtype, rnd, 2, d, d), linear(a + "k_proj.weight", dtype, rnd, 2, d, d),
                    linear(a + "v_proj.weight", dtype, rnd, 1, d, d), linear(a + "out_proj.weight", dtype, rnd, 1, d, d),
                    linear(p + "mlp.0.c_fc.weight", dtype, rnd, 1, mlp, d), random(p + "mlp.0.c_fc.bias", dtype, rnd, 0.2, 0, mlp),
                    linear(p + "mlp.0.c_proj.weight", dtype, rnd, 1, d, mlp), random(p + "mlp.0.c_proj.bias", dtype, rnd, 0.2, 0, d),
                    linear(p + "mlp.1.adapter.0.weight", dtype, rnd, 1, b, d), random(p + "mlp.1.adapter.0.bias", dtype, rnd, 0.2, 0, b),
                    linear(p + "mlp.1.adapter.2.weight", dtype, rnd, 1, d, b), random(p + "mlp.1.adapter.2.bias", dtype, rnd, 0.2, 0, d)));
        }
        return new LanguageModelWeights(
                random("lm.transformer.wte.weight", dtype, rnd, 1, 0, t.realVocabSize(), d), blocks,
                random("lm.transformer.ln_f.weight", dtype, rnd, 0.2, 1, d), random("lm.transformer.ln_f.bias", dtype, rnd, 0.2, 0, d),
                linear("lm.lm_head.weight", dtype, rnd, 1, t.vocabSize(), d), random("lm.lm_head.bias", dtype, rnd, 0.2, 0, t.vocabSize()));
    }

    /** Gaussian rows of a typical embedding scale. */
    static float[] embeddings(int rows, int hiddenSize, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[rows * hiddenSize];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** A [out, in] weight with entries of scale {@code gain / sqrt(in)}. */
    private static Tensor linear(String name, DType dtype, Random rnd, double gain, int out, int in) {
        return random(name, dtype, rnd, gain / Math.sqrt(in), 0, out, in);
    }

    private static Tensor random(String name, DType dtype, Random rnd, double scale, double offset, long... shape) {
        float[] values = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (offset + scale * rnd.nextGaussian());
        }
        return tensor(name, dtype, values, shape);
    }

    static Tensor tensor(String name, DType dtype, float[] values, long... shape) {
        MemorySegment data = Arena.ofAuto().allocate((long) values.length * dtype.byteSize());
        for (int i = 0; i < values.length; i++) {
            switch (dtype) {
                case FLOAT16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                        Float.floatToFloat16(values[i]));
                case FLOAT32 -> data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, values[i]);
                default -> throw new IllegalArgumentException("tiny models are float16 or float32, not " + dtype);
            }
        }
        return new Tensor(name, dtype, shape, data);
    }
}
