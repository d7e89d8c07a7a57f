package io.github.magmajava.backend;

/**
 * How closely a model follows PyTorch's float32 arithmetic, the one user-facing choice between
 * accuracy and speed (CLI {@code --precision}). Each backend maps it to its own means; the CPU
 * backend's are listed here, their accuracy per stage in docs/performance.md ("Precision").
 */
public enum Precision {
    /**
     * Float32 arithmetic throughout (oneDNN float32 for prefill GEMMs and convolutions where it
     * loads): PyTorch float32's results within float rounding, the parity tests' tolerances.
     */
    EXACT,
    /**
     * Prefill GEMMs and the image encoder in bfloat16 (inputs rounded to bfloat16, float32
     * accumulation; the encoder on oneDNN 3 with its weights prepared once): about twice as fast
     * to the first token, image embeddings and logits off by a few thousandths of their range.
     * Decoding is the same as {@link #EXACT} (fp16 or int8 weights streamed, float32 arithmetic).
     */
    FAST;

    /** The CLI spelling: {@code exact} or {@code fast}. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
