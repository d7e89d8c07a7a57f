package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.weights.BlockWeights;

/**
 * One GPT-J block with MAGMA's adapter, parallel residual with a single LayerNorm:
 * {@code h = ln_1(x); x' = x + (attn(h) + adapter(mlp(h)))}.
 */
final class GptjBlock {
    /** GPT-J's LayerNorm epsilon (ln_1 and ln_f). */
    static final float LAYER_NORM_EPS = 1e-5f;

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

    /** In place on the residual stream x [rows, d] of rows new positions at {@code cache.length()}. */
    void forward(float[] x, int rows, KvCache cache, Workspace ws) {
        layerNorm(x, rows, ws.normed);
        attention(ws.normed, rows, cache, ws, ws.attention);
        mlp(ws.normed, rows, ws, ws.mlp);
        int n = rows * hiddenSize;
        // attn + mlp first, then the residual: the order PyTorch sums them in.
        backend.add(ws.mlp, ws.attention, n);
        backend.add(x, ws.mlp, n);
    }

    void layerNorm(float[] x, int rows, float[] out) {
        backend.layerNorm(x, rows, hiddenSize, lnWeight, lnBias, LAYER_NORM_EPS, out);
    }

    /** attn(h) into out [rows, d]; stores the rows' keys and values in this block's cache layer. */
    void attention(float[] h, int rows, KvCache cache, Workspace ws, float[] out) {
        attention.forward(h, rows, cache, layer, ws, out);
    }

    /** The MLP with its adapter, {@code adapter(c_proj(gelu_new(c_fc(h)))}, into out [rows, d]. */
    void mlp(float[] h, int rows, Workspace ws, float[] out) {
        feedForward.forward(h, rows, ws.inner, out);
        adapter.apply(out, rows, ws.bottleneck, ws.adapterOut);
    }
}
