package io.github.magmajava.sampling;

import java.util.Arrays;

/**
 * The nucleus (top-p) filter: keeps the smallest best-ranked head of the candidates whose
 * probability reaches p, always at least one. Probabilities are softmax(logits) over the
 * candidates at temperature 1, as in the official code (temperature is applied afterwards).
 *
 * <p>Only the part of the ranking that decides the cut is ordered: candidates are first binned by
 * {@code max - logit} into {@link #BUCKETS} bins of 1/16 logit (all beyond 64 share the last
 * bin); the bins' masses locate the bin where the head reaches p, every better bin is kept whole,
 * and only that bin's ids are ranked, by a best-first heap popped as far as needed. O(n) plus
 * O(b log b) for a boundary bin of b ids; O(n log n) only when most logits fall in one bin.
 */
final class TopP {
    /**
     * A head within this of p counts as reaching it: p and the logits are float32, so a head that
     * reaches p exactly in decimal (0.5 + 0.3 for p = 0.8) may otherwise miss by rounding.
     */
    static final double TOLERANCE = 1e-6;
    static final int BUCKETS = 1024;
    private static final double BUCKETS_PER_LOGIT = BUCKETS / 64.0;

    private TopP() {
    }

    /**
     * Returns the lowest-ranked id of the kept head of {@code ids[0..n)} (reorders ids).
     * {@code max} is the largest candidate logit; {@code weights} (indexed by id) and
     * {@code bucketMass} ({@link #BUCKETS} long) are scratch.
     */
    static int cutoff(float[] logits, int[] ids, int n, float p, float max, double[] weights, double[] bucketMass) {
        Arrays.fill(bucketMass, 0, BUCKETS, 0);
        double total = 0;
        int lastBucket = 0;
        for (int i = 0; i < n; i++) {
            int id = ids[i];
            int bucket = bucket(logits[id], max);
            weights[id] = Temperature.weight(logits[id], max, 1);
            total += weights[id];
            bucketMass[bucket] += weights[id];
            lastBucket = Math.max(lastBucket, bucket);
        }
        // the first bucket that brings the head to p holds mass, hence ids; lastBucket caps rounding
        double threshold = p - TOLERANCE;
        double head = 0;
        int boundary = 0;
        while (boundary < lastBucket && (head + bucketMass[boundary]) / total < threshold) {
            head += bucketMass[boundary++];
        }
        // rank only the boundary bucket: its ids, compacted to the front, as a best-first heap
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (bucket(logits[ids[i]], max) == boundary) {
                ids[size++] = ids[i];
            }
        }
        Ranking.heapify(logits, ids, size, true);
        int last;
        do {
            last = ids[0];
            ids[0] = ids[--size];
            Ranking.siftDown(logits, ids, size, 0, true);
            head += weights[last];
        } while (size > 0 && head / total < threshold);
        return last;
    }

    /** Non-decreasing down the ranking: a better-ranked id never lands in a later bucket. */
    private static int bucket(float logit, float max) {
        if (max == Float.POSITIVE_INFINITY) {
            return logit == max ? 0 : BUCKETS - 1;
        }
        return (int) Math.min(BUCKETS - 1, ((double) max - logit) * BUCKETS_PER_LOGIT);
    }
}
