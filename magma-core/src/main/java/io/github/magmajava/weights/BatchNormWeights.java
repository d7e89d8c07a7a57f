package io.github.magmajava.weights;

import io.github.magmajava.io.Tensor;

/** An eval-mode BatchNorm2d: affine parameters and running statistics, each [channels]. */
public record BatchNormWeights(Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar) {
}
