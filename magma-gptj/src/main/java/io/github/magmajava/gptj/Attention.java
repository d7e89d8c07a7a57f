package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.weights.BlockWeights;

/**
 * GPT-J self-attention: q, k, v projections without bias, RoPE on q and k, causal attention
 * against every cached position, out_proj without bias. Heads are column slices of q, k and v, so
 * each device runs whole heads: its columns of q, k, v, its heads' attention against its part of
 * the cache, and its rows of out_proj, a partial sum the block all-reduces.
 */
final class Attention {
    private final Backend backend;
    private final Linear query;
    private final Linear key;
    private final Linear value;
    private final Linear output;
    /** Heads per device. */
    private final int heads;
    private final int headDim;
    private final int rotaryDim;
    private final double rotaryBase;

    Attention(BlockWeights w, TransformerConfig t, Backend backend) {
        this.backend = backend;
        this.query = backend.linear(w.qProj(), null, Split.OUTPUT_COLUMNS);
        this.key = backend.linear(w.kProj(), null, Split.OUTPUT_COLUMNS);
        this.value = backend.linear(w.vProj(), null, Split.OUTPUT_COLUMNS);
        this.output = backend.linear(w.outProj(), null, Split.INPUT_ROWS);
        this.heads = t.heads() / backend.devices();
        this.headDim = t.headDim();
        this.rotaryDim = t.rotaryDim();
        this.rotaryBase = t.rotaryBase();
    }

    /**
     * Device {@code device}'s part of {@code out_proj(attention(h))} for {@code rows} new positions
     * starting at {@code cache.length()}, into {@code w.attention} [rows, d]. Their rotated keys and
     * values are stored in the cache's {@code layer} first, so each row attends to itself and to
     * everything before it; the model advances the cache once every layer has stored its rows.
     */
    void forward(int device, float[] h, int rows, KvCache cache, int layer, Workspace.Device w) {
        int start = cache.length();
        query.forward(device, h, rows, w.query);
        key.forward(device, h, rows, w.key);
        value.forward(device, h, rows, w.value);
        backend.rope(w.query, rows, heads, headDim, rotaryDim, rotaryBase, start);
        backend.rope(w.key, rows, heads, headDim, rotaryDim, rotaryBase, start);
        cache.store(layer, device, w.key, w.value, rows);
        backend.attention(w.query, cache.keyValues(layer, device), rows, start, heads, headDim, w.context);
        output.forward(device, w.context, rows, w.attention);
    }
}
