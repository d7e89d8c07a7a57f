package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.weights.BlockWeights;

/**
 * GPT-J self-attention: q, k, v projections without bias, RoPE on q and k, causal attention
 * against every cached position, out_proj without bias. Heads are column slices of q, k and v,
 * so the tensor-parallel split gives each device whole heads.
 */
final class Attention {
    private final Backend backend;
    private final Linear query;
    private final Linear key;
    private final Linear value;
    private final Linear output;
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
        this.heads = t.heads();
        this.headDim = t.headDim();
        this.rotaryDim = t.rotaryDim();
        this.rotaryBase = t.rotaryBase();
    }

    /**
     * {@code out [rows, d] = out_proj(attention(h))} for {@code rows} new positions starting at
     * {@code cache.length()}. Their rotated keys and values are stored in the cache's {@code layer}
     * first, so each row attends to itself and to everything before it; the model advances the
     * cache once every layer has stored its rows.
     */
    void forward(float[] h, int rows, KvCache cache, int layer, Workspace ws, float[] out) {
        int start = cache.length();
        query.forward(h, rows, ws.query);
        key.forward(h, rows, ws.key);
        value.forward(h, rows, ws.value);
        backend.rope(ws.query, rows, heads, headDim, rotaryDim, rotaryBase, start);
        backend.rope(ws.key, rows, heads, headDim, rotaryDim, rotaryBase, start);
        cache.store(layer, ws.key, ws.value, rows);
        backend.attention(ws.query, cache.keys(layer), cache.values(layer), rows, start, heads, headDim, ws.context);
        output.forward(ws.context, rows, out);
    }
}
