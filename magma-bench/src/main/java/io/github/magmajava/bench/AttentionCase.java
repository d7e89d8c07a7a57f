package io.github.magmajava.bench;

/** Causal attention calls of GPT-J (16 heads of 256) as MAGMA makes them. */
public enum AttentionCase {
    /** The whole prompt at once: 160 rows at positions 0..159 (144 image tokens + 16 text). */
    PREFILL_160(160, 0),
    /** The first generated token after a 160-position prompt: 1 row, 161 keys. */
    DECODE_AT_160(1, 160),
    /** The last position of magma_v1_1024's 144 + 1024 budget: 1 row, 1168 keys. */
    DECODE_AT_1167(1, 1167);

    final int rows;
    final int startPos;

    AttentionCase(int rows, int startPos) {
        this.rows = rows;
        this.startPos = startPos;
    }

    int positions() {
        return startPos + rows;
    }
}
