package io.github.magmajava.sampling;

import java.util.SplittableRandom;

/**
 * The official pipeline for temperature > 0: top-k filter (k > 0), top-p filter (p < 1), then a
 * draw from softmax(logits / T) over the kept ids, walked in ascending id order. One {@link SplittableRandom} per generation,
 * seeded once; each call consumes exactly one {@code nextDouble()}. Not thread-safe.
 */
final class StochasticSampler implements Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;
    /** Scratch reused across calls, grown once to the vocabulary limit: candidate ids, weights by id. */
    private int[] ids = new int[0];
    private double[] weights = new double[0];
    private final double[] bucketMass = new double[TopP.BUCKETS];

    StochasticSampler(SamplingOptions options) {
        if (options.temperature() == 0) {
            throw new IllegalArgumentException("temperature 0 is greedy decoding: use Sampler.create or Sampler.ARGMAX");
        }
        this.temperature = options.temperature();
        this.topK = options.topK();
        this.topP = options.topP();
        this.random = new SplittableRandom(options.seed());
    }

    @Override
    public int sample(float[] logits, int vocabLimit) {
        Logits.checkRow(logits, vocabLimit);
        if (ids.length < vocabLimit) {
            ids = new int[vocabLimit];
            weights = new double[vocabLimit];
        }
        // candidates: every id below the limit whose logit is not -infinity (probability 0)
        int n = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int id = 0; id < vocabLimit; id++) {
            float logit = logits[id];
            if (Float.isNaN(logit)) {
                throw Logits.nan(id);
            }
            if (logit != Float.NEGATIVE_INFINITY) {
                ids[n++] = id;
                max = Math.max(max, logit);
            }
        }
        if (n == 0) {
            throw Logits.allNegativeInfinity(vocabLimit);
        }
        // both filters keep a prefix of the ranking, which always holds the id of the max logit
        if (topK > 0) {
            n = TopK.keep(logits, ids, n, topK);
        }
        int cutoff = topP < 1 ? TopP.cutoff(logits, ids, n, topP, max, weights, bucketMass) : Ranking.worst(logits, ids, n);
        return Temperature.draw(logits, vocabLimit, cutoff, max, temperature, random.nextDouble(), weights);
    }

    @Override
    public String toString() {
        return "StochasticSampler[temperature=" + temperature + ", topK=" + topK + ", topP=" + topP + "]";
    }
}
