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
     * Device {@code device}'s part of {@code out_proj(attention(h))} for the rows of {@code at}
     * (new positions, each at its cache's length), into {@code w.attention} [rows, d]. Their
     * rotated keys and values are stored in each cache's {@code layer} first, so each row attends
     * to itself and to everything before it; the model advances the caches once every layer has
     * stored its rows.
     */
    void forward(int device, float[] h, Positions at, int layer, Workspace.Device w) {
        int rows = at.rows();
        query.forward(device, h, rows, w.query);
        key.forward(device, h, rows, w.key);
        value.forward(device, h, rows, w.value);
        if (at.batched()) {
            for (int row = 0; row < rows; row++) {
                attendRow(device, row, at.caches()[row], layer, w);
            }
        } else {
            KvCache cache = at.caches()[0];
            int start = cache.length();
            backend.rope(w.query, rows, heads, headDim, rotaryDim, rotaryBase, start);
            backend.rope(w.key, rows, heads, headDim, rotaryDim, rotaryBase, start);
            cache.store(layer, device, w.key, w.value, rows);
            backend.attention(w.query, cache.keyValues(layer, device), rows, start, heads, headDim, w.context);
        }
        output.forward(device, w.context, rows, w.attention);
    }

    /** Row {@code row} of a batched step: the same calls as a one-row step of its own sequence. */
    private void attendRow(int device, int row, KvCache cache, int layer, Workspace.Device w) {
        int width = w.rowQuery.length;
        int start = cache.length();
        System.arraycopy(w.query, row * width, w.rowQuery, 0, width);
        System.arraycopy(w.key, row * width, w.rowKey, 0, width);
        System.arraycopy(w.value, row * width, w.rowValue, 0, width);
        backend.rope(w.rowQuery, 1, heads, headDim, rotaryDim, rotaryBase, start);
        backend.rope(w.rowKey, 1, heads, headDim, rotaryDim, rotaryBase, start);
        cache.store(layer, device, w.rowKey, w.rowValue, 1);
        backend.attention(w.rowQuery, cache.keyValues(layer, device), 1, start, heads, headDim, w.rowContext);
        System.arraycopy(w.rowContext, 0, w.context, row * width, width);
    }
}
