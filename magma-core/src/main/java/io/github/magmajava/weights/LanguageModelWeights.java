package io.github.magmajava.weights;

import io.github.magmajava.io.Tensor;
import java.util.List;

/** GPT-J: token embedding [realVocab, d], the blocks, the final LayerNorm and the LM head [vocab, d] with bias. */
public record LanguageModelWeights(Tensor wte, List<BlockWeights> blocks, Tensor lnFWeight, Tensor lnFBias,
        Tensor lmHeadWeight, Tensor lmHeadBias) {
    public LanguageModelWeights {
        blocks = List.copyOf(blocks);
    }
}
