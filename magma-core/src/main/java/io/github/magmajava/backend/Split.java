package io.github.magmajava.backend;

/**
 * How a tensor-parallel backend shards a weight across its {@link Backend#devices()} (the seed's
 * 4-IPU layout). A single-device backend ignores it. Model code runs the per-device parts of
 * {@code OUTPUT_COLUMNS} and {@code INPUT_ROWS} layers itself ({@link Linear#forward(int, float[], int, float[])});
 * {@code REPLICATED} and {@code VOCABULARY} layers are whole to model code, a backend splits
 * {@code VOCABULARY} ones inside {@link Linear#forward(float[], int, float[])}.
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
