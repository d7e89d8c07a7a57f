package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import io.github.magmajava.weights.ImagePrefixWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MAGMA's image prefix: the ModifiedResNet grid read as {@code g*g} tokens of C channels in
 * row-major grid order (token {@code h*g + w}), projected to the model width d with bias and
 * layer-normalized. Dropout is the identity at inference. Thread-safe once loaded.
 */
public final class ImagePrefix {
    /** PyTorch's LayerNorm default, which MAGMA keeps. */
    public static final float LAYER_NORM_EPS = 1e-5f;

    private final Backend backend;
    private final ModifiedResNet encoder;
    private final Linear proj;
    private final float[] lnWeight;
    private final float[] lnBias;
    private final Phase phase;

    private ImagePrefix(Backend backend, ModifiedResNet encoder, Linear proj, float[] lnWeight, float[] lnBias, Phase phase) {
        this.backend = backend;
        this.encoder = encoder;
        this.proj = proj;
        this.lnWeight = lnWeight;
        this.lnBias = lnBias;
        this.phase = phase;
    }

    /**
     * Folds the encoder's BatchNorms and prepares every weight on {@code backend}.
     *
     * @throws IllegalArgumentException when a weight's shape does not follow from {@code config},
     *                                  naming the tensor at fault
     */
    public static ImagePrefix load(ImagePrefixWeights weights, MagmaConfig config, Backend backend) {
        VisualConfig visual = config.visual();
        int d = config.transformer().hiddenSize();
        expect(weights.projWeight(), d, visual.outputChannels());
        expect(weights.projBias(), d);
        expect(weights.lnWeight(), d);
        expect(weights.lnBias(), d);
        ModifiedResNet encoder = ModifiedResNet.load(weights.encoder(), visual, backend);
        Linear proj = backend.linear(weights.projWeight(), weights.projBias(), Split.REPLICATED);
        return new ImagePrefix(backend, encoder, proj, weights.lnWeight().toFloatArray(), weights.lnBias().toFloatArray(),
                new Phase("image prefix", tensors(weights)));
    }

    public ModifiedResNet encoder() {
        return encoder;
    }

    /** Image tokens per image, {@code gridSize^2}. */
    public int tokens() {
        return encoder.config().imageTokens();
    }

    /** Width of each token, the language model's hidden size. */
    public int dim() {
        return proj.outFeatures();
    }

    /** The phase {@link #encode} runs in, listing every tensor of the image prefix. */
    public Phase phase() {
        return phase;
    }

    /**
     * The prefix embeddings [tokens, dim] (row-major) of a preprocessed image [3, S, S] (CHW, S =
     * imageResolution); {@code image} is left untouched.
     *
     * @throws IllegalArgumentException when {@code image} is not 3*S*S floats long
     */
    public float[] encode(float[] image) {
        FeatureMap input = FeatureMap.image(image, encoder.config().imageResolution());
        return backend.run(phase, () -> {
            float[] tokens = tokensOf(encoder.forward(input));
            float[] embeddings = new float[tokens() * dim()];
            proj.forward(tokens, tokens(), embeddings);
            backend.layerNorm(embeddings, tokens(), dim(), lnWeight, lnBias, LAYER_NORM_EPS, embeddings);
            return embeddings;
        });
    }

    /** [C, g, g] -> [g*g, C]: token {@code h*g + w} holds the channels of grid cell (h, w). */
    static float[] tokensOf(FeatureMap grid) {
        int cells = grid.height() * grid.width();
        int channels = grid.channels();
        float[] tokens = new float[grid.size()];
        for (int c = 0; c < channels; c++) {
            for (int cell = 0; cell < cells; cell++) {
                tokens[cell * channels + c] = grid.data()[c * cells + cell];
            }
        }
        return tokens;
    }

    private static void expect(Tensor t, long... shape) {
        if (!t.hasShape(shape) || !t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("tensor " + t.name() + " is " + t.describe() + ", expected a float tensor "
                    + Arrays.toString(shape));
        }
    }

    private static List<Tensor> tensors(ImagePrefixWeights weights) {
        List<Tensor> all = new ArrayList<>();
        ResNetWeights resnet = weights.encoder();
        for (ConvBn c : List.of(resnet.stem1(), resnet.stem2(), resnet.stem3())) {
            add(all, c);
        }
        for (List<BottleneckWeights> stage : resnet.stages()) {
            for (BottleneckWeights block : stage) {
                add(all, block.conv1());
                add(all, block.conv2());
                add(all, block.conv3());
                block.downsample().ifPresent(d -> add(all, d));
            }
        }
        all.addAll(List.of(weights.projWeight(), weights.projBias(), weights.lnWeight(), weights.lnBias()));
        return all;
    }

    private static void add(List<Tensor> all, ConvBn c) {
        BatchNormWeights bn = c.bn();
        all.addAll(List.of(c.conv(), bn.weight(), bn.bias(), bn.runningMean(), bn.runningVar()));
    }
}
