package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.weights.BlockWeights;

/**
 * MAGMA's bottleneck adapter after the MLP: {@code m + W2 relu(W1 m + b1) + b2}, with
 * {@code W1: d -> d / downsampleFactor}. No LayerNorm and no scale in the public checkpoint.
 * Placed as the seed places it: W1 split by output columns, W2 by input rows, so each device
 * reads the whole m (relu needs the complete sum) and yields a partial sum of {@code W2 relu(..) + b2}.
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

    /** Device {@code device}'s partial sum of {@code W2 relu(W1 m + b1) + b2} for m [rows, d], into {@code w.adapterOut}. */
    void forward(int device, float[] m, int rows, Workspace.Device w) {
        down.forward(device, m, rows, w.bottleneck);
        backend.relu(w.bottleneck, rows * (down.outFeatures() / backend.devices()));
        up.forward(device, w.bottleneck, rows, w.adapterOut);
    }
}
