package io.github.magmajava.sampling;

/** softmax(logits / T) over the kept ids and the draw from it. */
final class Temperature {
    private Temperature() {
    }

    /**
     * The unnormalised softmax weight exp((logit - max) / T): at most 1, so no overflow for any
     * T > 0. StrictMath keeps it bit-identical on every JVM. When the largest logit is +infinity the
     * limit applies: the +infinity ids share the mass equally, every finite one gets none.
     */
    static double weight(float logit, float max, double temperature) {
        if (max == Float.POSITIVE_INFINITY) {
            return logit == max ? 1 : 0;
        }
        return StrictMath.exp(((double) logit - max) / temperature);
    }

    /**
     * Inverse-CDF draw over the kept ids, the ids below {@code vocabLimit} ranked at or above
     * {@code cutoff}, walked in ascending id order: returns the first id whose cumulative weight
     * exceeds {@code uniform * total}. {@code max} is the largest kept logit (weight 1), so the total
     * is at least 1 and an id of zero weight is never returned. {@code weights} is scratch indexed by id.
     */
    static int draw(float[] logits, int vocabLimit, int cutoff, float max, float temperature, double uniform,
            double[] weights) {
        double total = 0;
        for (int id = 0; id < vocabLimit; id++) {
            if (Ranking.atOrAbove(logits, id, cutoff)) {
                weights[id] = weight(logits[id], max, temperature);
                total += weights[id];
            }
        }
        double target = uniform * total;
        double cumulative = 0;
        int last = cutoff;
        for (int id = 0; id < vocabLimit; id++) {
            if (Ranking.atOrAbove(logits, id, cutoff)) {
                double w = weights[id];
                if (w > 0) {
                    cumulative += w;
                    last = id;
                    if (cumulative > target) {
                        return id;
                    }
                }
            }
        }
        // reached only when uniform * total rounded up to total itself
        return last;
    }
}
