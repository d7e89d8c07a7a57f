package io.github.magmajava.backend.cpu;

import java.util.Locale;

/**
 * Whether {@link CpuBackend} runs many-row GEMMs (prefill) and convolutions on oneDNN through
 * nd4j (docs/nd4j.md), and in which number format. Decoding (a few rows) always stays on the
 * pure-Java streaming kernel, which reads the fp16 weights as mapped.
 */
public enum OneDnnMode {
    /** Pure-Java kernels only. */
    OFF,
    /** oneDNN in float32: weights widened per call from the mapped file; results match the pure-Java kernels to float rounding. */
    FP32,
    /**
     * oneDNN in bfloat16 for Linear layers (activations, weights and outputs rounded to bfloat16,
     * float32 accumulation): faster, but about 4e-3 relative error per product, more than the
     * float32 parity tolerances allow. Convolutions stay float32 (nd4j has no bf16 convolution).
     */
    BF16;

    /** The system property that picks the mode of backends made without an explicit one. */
    public static final String PROPERTY = "magma.onednn";

    /**
     * The mode named by {@value #PROPERTY} ({@code off}, {@code fp32}, {@code bf16}); {@link #FP32}
     * when unset.
     *
     * @throws IllegalArgumentException when the property has another value
     */
    public static OneDnnMode configured() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return FP32;
        }
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("system property " + PROPERTY + " must be off, fp32 or bf16, found '" + value + "'");
        }
    }
}
