package io.github.magmajava.backend;

/**
 * How a tensor-parallel backend may shard a weight across devices (the seed's 4-IPU layout).
 * A hint only: a single-device backend ignores it, and results never depend on it.
 */
public enum Split {
    /** Every device holds the whole weight (LayerNorms, the image prefix). */
    REPLICATED,
    /** Output features split across devices; each produces a slice of y (q, k, v, c_fc, adapter down). */
    OUTPUT_COLUMNS,
    /** Input features split; partial sums are all-reduced and the bias added once (out_proj, c_proj, adapter up). */
    INPUT_ROWS,
    /** Vocabulary rows split (embedding lookup, LM head); the host joins the logits. */
    VOCABULARY
}
