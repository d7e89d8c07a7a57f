package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import io.github.magmajava.weights.ResNetWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CLIP's ModifiedResNet without its attention pool, as MAGMA uses it: the stem, then four stages
 * of bottlenecks with planes w, 2w, 4w, 8w and strides 1, 2, 2, 2. A [3, S, S] image becomes a
 * [32w, S/32, S/32] grid. Immutable and thread-safe once loaded; every call has its own buffers.
 */
public final class ModifiedResNet {
    private static final int[] STAGE_STRIDES = {1, 2, 2, 2};

    private final VisualConfig config;
    private final Backend backend;
    private final Stem stem;
    private final List<List<Bottleneck>> stages;

    private ModifiedResNet(VisualConfig config, Backend backend, Stem stem, List<List<Bottleneck>> stages) {
        this.config = config;
        this.backend = backend;
        this.stem = stem;
        this.stages = stages;
    }

    /**
     * Folds every BatchNorm into its convolution and prepares the convolutions on {@code backend}.
     *
     * @throws IllegalArgumentException when a weight's shape or a block's stride does not follow
     *                                  from {@code config}, naming the tensor at fault
     */
    public static ModifiedResNet load(ResNetWeights weights, VisualConfig config, Backend backend) {
        checkGeometry(weights, config);
        List<List<Bottleneck>> stages = new ArrayList<>();
        for (List<BottleneckWeights> stage : weights.stages()) {
            stages.add(stage.stream().map(block -> Bottleneck.load(block, backend)).toList());
        }
        return new ModifiedResNet(config, backend, Stem.load(weights, backend), List.copyOf(stages));
    }

    public VisualConfig config() {
        return config;
    }

    public Stem stem() {
        return stem;
    }

    /** The four stages, block 0 first in each. */
    public List<List<Bottleneck>> stages() {
        return stages;
    }

    /**
     * The encoder output [outputChannels, gridSize, gridSize] of a preprocessed image
     * [3, imageResolution, imageResolution] (CHW); {@code image} is left untouched.
     *
     * @throws IllegalArgumentException when {@code image} has the wrong length
     */
    public FeatureMap forward(float[] image) {
        return forward(FeatureMap.image(image, config.imageResolution()));
    }

    public FeatureMap forward(FeatureMap image) {
        if (image.channels() != 3 || image.height() != config.imageResolution() || image.width() != config.imageResolution()) {
            throw new IllegalArgumentException("image must be [3, " + config.imageResolution() + ", " + config.imageResolution()
                    + "], found [" + image.channels() + ", " + image.height() + ", " + image.width() + "]");
        }
        Workspace ws = new Workspace(backend);
        FeatureMap x = stem.forward(image, ws);
        for (List<Bottleneck> stage : stages) {
            for (Bottleneck block : stage) {
                FeatureMap next = block.forward(x, ws);
                ws.release(x);
                x = next;
            }
        }
        return x;
    }

    /**
     * @throws IllegalArgumentException when a weight's shape or a block's stride does not follow
     *                                  from {@code config}, naming the tensor at fault
     */
    static void checkGeometry(ResNetWeights weights, VisualConfig config) {
        int w = config.width();
        expect(weights.stem1(), w / 2, 3, 3, config);
        expect(weights.stem2(), w / 2, w / 2, 3, config);
        expect(weights.stem3(), w, w / 2, 3, config);
        if (weights.stages().size() != 4) {
            throw new IllegalArgumentException("the encoder needs 4 stages, the weights have " + weights.stages().size());
        }
        int inplanes = w;
        for (int s = 0; s < 4; s++) {
            List<BottleneckWeights> stage = weights.stages().get(s);
            if (stage.size() != config.layers().get(s)) {
                throw new IllegalArgumentException("stage " + (s + 1) + " has " + stage.size() + " blocks in the weights, "
                        + config.layers().get(s) + " in visual config " + config.layers());
            }
            int planes = w << s;
            for (int i = 0; i < stage.size(); i++) {
                BottleneckWeights block = stage.get(i);
                int stride = i == 0 ? STAGE_STRIDES[s] : 1;
                if (block.stride() != stride) {
                    throw new IllegalArgumentException("block " + i + " of stage " + (s + 1) + " (" + block.conv1().conv().name()
                            + ") has stride " + block.stride() + ", expected " + stride);
                }
                expect(block.conv1(), planes, inplanes, 1, config);
                expect(block.conv2(), planes, planes, 3, config);
                expect(block.conv3(), 4 * planes, planes, 1, config);
                if (i == 0 && block.downsample().isEmpty()) {
                    throw new IllegalArgumentException("block 0 of stage " + (s + 1) + " (" + block.conv1().conv().name()
                            + ") needs its downsample weights");
                }
                if (i > 0 && block.downsample().isPresent()) {
                    throw new IllegalArgumentException("block " + i + " of stage " + (s + 1) + " ("
                            + block.conv1().conv().name() + ") has downsample weights; only block 0 of a stage has them");
                }
                if (block.downsample().isPresent()) {
                    expect(block.downsample().get(), 4 * planes, inplanes, 1, config);
                }
                inplanes = 4 * planes;
            }
        }
    }

    private static void expect(ConvBn convBn, int out, int in, int kernel, VisualConfig config) {
        if (!convBn.conv().hasShape(out, in, kernel, kernel)) {
            throw new IllegalArgumentException("tensor " + convBn.conv().name() + " has shape "
                    + Arrays.toString(convBn.conv().shape()) + ", expected [" + out + ", " + in + ", " + kernel + ", " + kernel
                    + "] for visual config layers " + config.layers() + ", width " + config.width());
        }
    }
}
