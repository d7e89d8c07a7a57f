package io.github.magmajava.weights;

import io.github.magmajava.io.Tensor;
import java.util.List;

/**
 * One GPT-J block with MAGMA's MLP adapter. Linear weights are [out, in]; attention projections
 * have no bias.
 */
public record BlockWeights(
        Tensor ln1Weight, Tensor ln1Bias,
        Tensor qProj, Tensor kProj, Tensor vProj, Tensor outProj,
        Tensor fcWeight, Tensor fcBias, Tensor projWeight, Tensor projBias,
        Tensor adapterDownWeight, Tensor adapterDownBias, Tensor adapterUpWeight, Tensor adapterUpBias) {

    /** Every tensor of the block, for phase staging. */
    public List<Tensor> all() {
        return List.of(ln1Weight, ln1Bias, qProj, kProj, vProj, outProj, fcWeight, fcBias, projWeight, projBias,
                adapterDownWeight, adapterDownBias, adapterUpWeight, adapterUpBias);
    }
}
