package io.github.magmajava.sampling;

import java.util.Objects;

/** Checks and messages shared by the samplers. */
final class Logits {
    private Logits() {
    }

    static void checkRow(float[] logits, int vocabLimit) {
        Objects.requireNonNull(logits, "logits");
        if (vocabLimit < 1 || vocabLimit > logits.length) {
            throw new IllegalArgumentException("vocabLimit must be between 1 and the logits length " + logits.length
                    + ", found " + vocabLimit);
        }
    }

    static IllegalArgumentException nan(int id) {
        return new IllegalArgumentException("the logit of token id " + id
                + " is NaN: the forward pass produced an invalid row (check the weights and the backend)");
    }

    static IllegalArgumentException allNegativeInfinity(int vocabLimit) {
        return new IllegalArgumentException("every logit of token ids 0.." + (vocabLimit - 1)
                + " is -infinity: no token can be sampled");
    }
}
