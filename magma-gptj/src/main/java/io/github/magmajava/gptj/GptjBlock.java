package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.weights.BlockWeights;

/**
 * One GPT-J block with MAGMA's adapter, parallel residual with a single LayerNorm:
 * {@code h = ln_1(x); m = c_proj(gelu_new(c_fc(h))); x' = x + attn(h) + m + W2 relu(W1 m + b1) + b2}, summed
 * as {@code x + ((attn(h) + W2 relu(..) + b2) + m)}.
 *
 * <p>Tensor-parallel as the seed runs it on its devices: every device normalises the whole x,
 * runs its heads and its slice of the MLP, and the block joins the devices' partial sums with two
 * all-reduces, the fewest the adapter allows: the MLP's (the adapter's relu needs the whole m),
 * then one for attention and adapter together.
 */
final class GptjBlock {
    /** GPT-J's LayerNorm epsilon (ln_1 and ln_f). */
    static final float LAYER_NORM_EPS = 1e-5f;
    /** All-reduces per block: the MLP's, then attention and adapter together. */
    static final int ALL_REDUCES = 2;

    private final int layer;
    private final int hiddenSize;
    private final Backend backend;
    private final float[] lnWeight;
    private final float[] lnBias;
    private final Attention attention;
    private final FeedForward feedForward;
    private final Adapter adapter;
    private final Phase phase;

    GptjBlock(int layer, BlockWeights w, MagmaConfig config, Backend backend) {
        this.layer = layer;
        this.hiddenSize = config.transformer().hiddenSize();
        this.backend = backend;
        this.lnWeight = w.ln1Weight().toFloatArray();
        this.lnBias = w.ln1Bias().toFloatArray();
        this.attention = new Attention(w, config.transformer(), backend);
        this.feedForward = new FeedForward(w, backend);
        this.adapter = new Adapter(w, backend);
        this.phase = new Phase("block " + layer, w.all());
    }

    Phase phase() {
        return phase;
    }

    /** In place on the residual stream x [rows, d] of the new positions {@code at}. */
    void forward(float[] x, Positions at, Workspace ws) {
        int rows = at.rows();
        int n = rows * hiddenSize;
        layerNorm(x, rows, ws.normed);
        for (int device = 0; device < ws.devices(); device++) {
            attention.forward(device, ws.normed, at, layer, ws.device(device));
            feedForward.forward(device, ws.normed, rows, ws.device(device));
        }
        float[] m = backend.allReduce(ws.mlpPartials, n);
        for (int device = 0; device < ws.devices(); device++) {
            Workspace.Device w = ws.device(device);
            adapter.forward(device, m, rows, w);
            backend.add(w.attention, w.adapterOut, n);
        }
        float[] attentionAndAdapter = backend.allReduce(ws.attentionPartials, n);
        backend.add(attentionAndAdapter, m, n);
        backend.add(x, attentionAndAdapter, n);
    }

    void layerNorm(float[] x, int rows, float[] out) {
        backend.layerNorm(x, rows, hiddenSize, lnWeight, lnBias, LAYER_NORM_EPS, out);
    }

    /** attn(h) into out [rows, d], every device's heads joined; stores the rows' keys and values in the cache. */
    void attention(float[] h, int rows, KvCache cache, Workspace ws, float[] out) {
        for (int device = 0; device < ws.devices(); device++) {
            attention.forward(device, h, Positions.of(cache, rows), layer, ws.device(device));
        }
        System.arraycopy(backend.allReduce(ws.attentionPartials, rows * hiddenSize), 0, out, 0, rows * hiddenSize);
    }

    /** The MLP with its adapter, {@code m + adapter(m)} with {@code m = c_proj(gelu_new(c_fc(h)))}, into out [rows, d]. */
    void mlp(float[] h, int rows, Workspace ws, float[] out) {
        int n = rows * hiddenSize;
        for (int device = 0; device < ws.devices(); device++) {
            feedForward.forward(device, h, rows, ws.device(device));
        }
        float[] m = backend.allReduce(ws.mlpPartials, n);
        for (int device = 0; device < ws.devices(); device++) {
            adapter.forward(device, m, rows, ws.device(device));
        }
        float[] up = backend.allReduce(ws.adapterPartials, n);
        System.arraycopy(m, 0, out, 0, n);
        backend.add(out, up, n);
    }
}
