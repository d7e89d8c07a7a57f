package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.weights.BlockWeights;

/**
 * GPT-J's MLP: {@code c_proj(gelu_new(c_fc(h)))}, both projections with bias. Each device holds
 * columns of c_fc and the matching rows of c_proj: gelu is elementwise, so its part is a partial
 * sum of the output.
 */
final class FeedForward {
    private final Backend backend;
    private final Linear fc;
    private final Linear proj;

    FeedForward(BlockWeights w, Backend backend) {
        this.backend = backend;
        this.fc = backend.linear(w.fcWeight(), w.fcBias(), Split.OUTPUT_COLUMNS);
        this.proj = backend.linear(w.projWeight(), w.projBias(), Split.INPUT_ROWS);
    }

    /** Device {@code device}'s partial sum of the MLP of h [rows, d] into {@code w.mlp} [rows, d]. */
    void forward(int device, float[] h, int rows, Workspace.Device w) {
        fc.forward(device, h, rows, w.inner);
        backend.gelu(w.inner, rows * (fc.outFeatures() / backend.devices()));
        proj.forward(device, w.inner, rows, w.mlp);
    }
}
