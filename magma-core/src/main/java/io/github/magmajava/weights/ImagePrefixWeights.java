package io.github.magmajava.weights;

import io.github.magmajava.io.Tensor;

/** The image encoder and its projection into the language model: Linear(C -> d) + LayerNorm(d). */
public record ImagePrefixWeights(ResNetWeights encoder, Tensor projWeight, Tensor projBias, Tensor lnWeight, Tensor lnBias) {
}
