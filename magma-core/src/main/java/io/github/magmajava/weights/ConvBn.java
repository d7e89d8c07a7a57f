package io.github.magmajava.weights;

import io.github.magmajava.io.Tensor;

/** A bias-free convolution [out, in, k, k] followed by BatchNorm, as every conv in CLIP's ModifiedResNet. */
public record ConvBn(Tensor conv, BatchNormWeights bn) {
}
