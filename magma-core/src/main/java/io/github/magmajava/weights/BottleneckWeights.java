package io.github.magmajava.weights;

import java.util.Optional;

/**
 * One CLIP bottleneck: 1x1, 3x3 and 1x1 (x4) conv-BN pairs; block 0 of each stage also has the
 * downsample path (AvgPool, 1x1 conv, BN).
 */
public record BottleneckWeights(ConvBn conv1, ConvBn conv2, ConvBn conv3, Optional<ConvBn> downsample, int stride) {
    /** Planes of the middle convolutions. */
    public int planes() {
        return (int) conv1.conv().dim(0);
    }

    public int inChannels() {
        return (int) conv1.conv().dim(1);
    }

    public int outChannels() {
        return (int) conv3.conv().dim(0);
    }
}
