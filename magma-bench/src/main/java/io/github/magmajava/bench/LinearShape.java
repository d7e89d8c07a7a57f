package io.github.magmajava.bench;

/** The weight matrices of MAGMA's decoder, [out, in] as stored in the checkpoint. */
public enum LinearShape {
    /** q_proj, k_proj, v_proj, out_proj. */
    ATTENTION(4096, 4096),
    /** mlp.0.c_fc. */
    MLP_UP(16384, 4096),
    /** mlp.0.c_proj. */
    MLP_DOWN(4096, 16384),
    /** lm_head (50400 rows, 50258 of them real tokens). */
    LM_HEAD(50400, 4096);

    final int out;
    final int in;

    LinearShape(int out, int in) {
        this.out = out;
        this.in = in;
    }
}
