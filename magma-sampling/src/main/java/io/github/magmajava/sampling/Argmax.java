package io.github.magmajava.sampling;

/** Greedy choice; see {@link Sampler#ARGMAX}. */
final class Argmax {
    private Argmax() {
    }

    static int choose(float[] logits, int vocabLimit) {
        Logits.checkRow(logits, vocabLimit);
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int id = 0; id < vocabLimit; id++) {
            float logit = logits[id];
            if (Float.isNaN(logit)) {
                throw Logits.nan(id);
            }
            // strict '>' keeps the lowest id on ties; -infinity never beats the initial value
            if (logit > max) {
                max = logit;
                best = id;
            }
        }
        if (best < 0) {
            throw Logits.allNegativeInfinity(vocabLimit);
        }
        return best;
    }
}
