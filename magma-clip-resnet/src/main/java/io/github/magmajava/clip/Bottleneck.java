package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import java.util.Optional;

/**
 * CLIP's anti-aliased bottleneck: conv1x1-BN-ReLU, conv3x3-BN-ReLU, AvgPool(stride) when
 * strided, conv1x1 (x4)-BN, plus the identity, then ReLU. Block 0 of a stage replaces the
 * identity with the downsample path AvgPool(stride), conv1x1, BN.
 */
public final class Bottleneck {
    private final Backend backend;
    private final Conv2d conv1;
    private final Conv2d conv2;
    private final Conv2d conv3;
    private final Optional<Conv2d> downsample;
    private final int stride;

    private Bottleneck(Backend backend, Conv2d conv1, Conv2d conv2, Conv2d conv3, Optional<Conv2d> downsample, int stride) {
        this.backend = backend;
        this.conv1 = conv1;
        this.conv2 = conv2;
        this.conv3 = conv3;
        this.downsample = downsample;
        this.stride = stride;
    }

    static Bottleneck load(BottleneckWeights weights, Backend backend) {
        if (weights.stride() < 1) {
            throw new IllegalArgumentException("bottleneck of " + weights.conv1().conv().name() + ": stride must be >= 1, found "
                    + weights.stride());
        }
        if (weights.downsample().isEmpty() && (weights.stride() > 1 || weights.inChannels() != weights.outChannels())) {
            throw new IllegalArgumentException("bottleneck of " + weights.conv1().conv().name()
                    + " changes the shape (stride " + weights.stride() + ", " + weights.inChannels() + " -> "
                    + weights.outChannels() + " channels) and needs a downsample path");
        }
        chain(weights.conv1(), weights.conv2());
        chain(weights.conv2(), weights.conv3());
        weights.downsample().ifPresent(d -> {
            if (d.conv().dim(0) != weights.outChannels() || d.conv().dim(1) != weights.inChannels()) {
                throw new IllegalArgumentException("downsample " + d.conv().name() + " " + d.conv().describe() + " must map "
                        + weights.inChannels() + " to " + weights.outChannels() + " channels like its block");
            }
        });
        return new Bottleneck(backend,
                FoldedConv.fold(weights.conv1()).prepare(backend, 1, 0),
                FoldedConv.fold(weights.conv2()).prepare(backend, 1, 1),
                FoldedConv.fold(weights.conv3()).prepare(backend, 1, 0),
                weights.downsample().map(d -> FoldedConv.fold(d).prepare(backend, 1, 0)),
                weights.stride());
    }

    private static void chain(ConvBn first, ConvBn second) {
        if (first.conv().dim(0) != second.conv().dim(1)) {
            throw new IllegalArgumentException(second.conv().name() + " " + second.conv().describe() + " must take the "
                    + first.conv().dim(0) + " channels of " + first.conv().name());
        }
    }

    public int inChannels() {
        return conv1.inChannels();
    }

    public int outChannels() {
        return conv3.outChannels();
    }

    public int stride() {
        return stride;
    }

    public boolean hasDownsample() {
        return downsample.isPresent();
    }

    /** This block applied to {@code x} into a new map; {@code x} is left untouched. */
    public FeatureMap forward(FeatureMap x) {
        return forward(x, new Workspace(backend));
    }

    /** Leaves {@code x} to the caller, who may release it afterwards. */
    FeatureMap forward(FeatureMap x, Workspace ws) {
        FeatureMap a = ws.relu(ws.conv(conv1, x));
        FeatureMap b = ws.relu(ws.conv(conv2, a));
        ws.release(a);
        if (stride > 1) {
            FeatureMap pooled = ws.avgPool(b, stride);
            ws.release(b);
            b = pooled;
        }
        FeatureMap out = ws.conv(conv3, b);
        ws.release(b);
        if (downsample.isPresent()) {
            FeatureMap identity = downsample(x, ws);
            ws.add(out, identity);
            ws.release(identity);
        } else {
            ws.add(out, x);
        }
        return ws.relu(out);
    }

    private FeatureMap downsample(FeatureMap x, Workspace ws) {
        if (stride == 1) {
            return ws.conv(downsample.orElseThrow(), x);
        }
        FeatureMap pooled = ws.avgPool(x, stride);
        FeatureMap identity = ws.conv(downsample.orElseThrow(), pooled);
        ws.release(pooled);
        return identity;
    }
}
