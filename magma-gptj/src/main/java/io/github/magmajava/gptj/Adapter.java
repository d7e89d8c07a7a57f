package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.weights.BlockWeights;

/**
 * MAGMA's bottleneck adapter after the MLP: {@code m + W2 relu(W1 m + b1) + b2}, with
 * {@code W1: d -> d / downsampleFactor}. No LayerNorm and no scale in the public checkpoint.
 */
final class Adapter {
    private final Backend backend;
    private final Linear down;
    private final Linear up;

    Adapter(BlockWeights w, Backend backend) {
        this.backend = backend;
        this.down = backend.linear(w.adapterDownWeight(), w.adapterDownBias(), Split.OUTPUT_COLUMNS);
        this.up = backend.linear(w.adapterUpWeight(), w.adapterUpBias(), Split.INPUT_ROWS);
    }

    /** In place on m [rows, d]; bottleneck [rows, d / factor] and scratch [rows, d] are work space. */
    void apply(float[] m, int rows, float[] bottleneck, float[] scratch) {
        down.forward(m, rows, bottleneck);
        backend.relu(bottleneck, rows * down.outFeatures());
        up.forward(bottleneck, rows, scratch);
        backend.add(m, scratch, rows * up.outFeatures());
    }
}
