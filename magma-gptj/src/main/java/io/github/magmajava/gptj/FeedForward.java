package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.weights.BlockWeights;

/** GPT-J's MLP: {@code c_proj(gelu_new(c_fc(h)))}, both projections with bias. */
final class FeedForward {
    private final Backend backend;
    private final Linear fc;
    private final Linear proj;

    FeedForward(BlockWeights w, Backend backend) {
        this.backend = backend;
        this.fc = backend.linear(w.fcWeight(), w.fcBias(), Split.OUTPUT_COLUMNS);
        this.proj = backend.linear(w.projWeight(), w.projBias(), Split.INPUT_ROWS);
    }

    /** h [rows, d] to out [rows, d]; inner [rows, mlpSize] is scratch. */
    void forward(float[] h, int rows, float[] inner, float[] out) {
        fc.forward(h, rows, inner);
        backend.gelu(inner, rows * fc.outFeatures());
        proj.forward(inner, rows, out);
    }
}
