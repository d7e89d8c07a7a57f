package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.clip.onednn.Bf16Encoder;
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
import java.util.Optional;

/**
 * MAGMA's image prefix: the ModifiedResNet grid read as {@code g*g} tokens of C channels in
 * row-major grid order (token {@code h*g + w}), projected to the model width d with bias and
 * layer-normalized. Dropout is the identity at inference. Thread-safe once loaded.
 *
 * <p>On a {@link CpuBackend} in {@link OneDnnMode#BF16} the encoder and the projection run as one
 * bf16 chain on oneDNN 3 ({@link Bf16Encoder}: weights prepared once at load, about twice as fast,
 * within 1.5e-2 of the float32 reference's scale) where that loads and has bf16 kernels for this
 * CPU; everywhere else, and for {@link #encoder()}, on the backend in float32. {@link #close()}
 * frees the bf16 encoder's native memory.
 */
public final class ImagePrefix implements AutoCloseable {
    /** PyTorch's LayerNorm default, which MAGMA keeps. */
    public static final float LAYER_NORM_EPS = 1e-5f;

    private final Backend backend;
    private final ImagePrefixWeights weights;
    private final VisualConfig visual;
    private final int dim;
    /** The float32 encoder and projection; loaded on first use when {@link #bf16} does the encoding. */
    private ModifiedResNet encoder;
    private Linear proj;
    private final Optional<Bf16Encoder> bf16;
    private final float[] lnWeight;
    private final float[] lnBias;
    private final Phase phase;

    private ImagePrefix(Backend backend, ImagePrefixWeights weights, VisualConfig visual, int dim, Optional<Bf16Encoder> bf16,
            Phase phase) {
        this.backend = backend;
        this.weights = weights;
        this.visual = visual;
        this.dim = dim;
        this.bf16 = bf16;
        this.lnWeight = weights.lnWeight().toFloatArray();
        this.lnBias = weights.lnBias().toFloatArray();
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
        Optional<Bf16Encoder> bf16 = Optional.empty();
        if (backend instanceof CpuBackend cpu && cpu.oneDnnMode() == OneDnnMode.BF16) {
            ModifiedResNet.checkGeometry(weights.encoder(), visual);
            bf16 = Bf16Encoder.create(weights.encoder(), visual, weights.projWeight(), weights.projBias(), cpu.threads());
        }
        ImagePrefix prefix = new ImagePrefix(backend, weights, visual, d, bf16, new Phase("image prefix", tensors(weights)));
        if (bf16.isEmpty()) {
            prefix.float32();
        }
        return prefix;
    }

    /** The float32 encoder on the backend (loaded now if the bf16 encoder runs {@link #encode}). */
    public ModifiedResNet encoder() {
        return float32();
    }

    /** Whether {@link #encode} runs in bf16 on oneDNN 3. */
    public boolean bf16() {
        return bf16.isPresent();
    }

    private synchronized ModifiedResNet float32() {
        if (encoder == null) {
            encoder = ModifiedResNet.load(weights.encoder(), visual, backend);
            proj = backend.linear(weights.projWeight(), weights.projBias(), Split.REPLICATED);
        }
        return encoder;
    }

    /** Image tokens per image, {@code gridSize^2}. */
    public int tokens() {
        return visual.imageTokens();
    }

    /** Width of each token, the language model's hidden size. */
    public int dim() {
        return dim;
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
        if (bf16.isPresent()) {
            float[] embeddings = bf16.get().encode(image);
            backend.layerNorm(embeddings, tokens(), dim(), lnWeight, lnBias, LAYER_NORM_EPS, embeddings);
            return embeddings;
        }
        FeatureMap input = FeatureMap.image(image, visual.imageResolution());
        return backend.run(phase, () -> {
            float[] tokens = tokensOf(encoder.forward(input));
            float[] embeddings = new float[tokens() * dim()];
            proj.forward(tokens, tokens(), embeddings);
            backend.layerNorm(embeddings, tokens(), dim(), lnWeight, lnBias, LAYER_NORM_EPS, embeddings);
            return embeddings;
        });
    }

    /** Frees the bf16 encoder's native memory (nothing else: the backend owns the rest). */
    @Override
    public void close() {
        bf16.ifPresent(Bf16Encoder::close);
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
