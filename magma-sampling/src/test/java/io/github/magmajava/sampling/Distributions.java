package io.github.magmajava.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Naive references and a chi-square check for the sampler tests. */
final class Distributions {
    private Distributions() {
    }

    /**
     * The ids the official pipeline keeps, computed the obvious way: a full sort by (logit desc,
     * id asc), the first k, then the shortest head whose softmax probability reaches p (within
     * {@link TopP#TOLERANCE}), in rank order.
     */
    static List<Integer> referenceKept(float[] logits, int vocabLimit, int k, float p) {
        List<Integer> ranked = new ArrayList<>();
        for (int id = 0; id < vocabLimit; id++) {
            if (logits[id] != Float.NEGATIVE_INFINITY) {
                ranked.add(id);
            }
        }
        // float comparisons, not Double.compare: -0.0 and 0.0 are equal logits
        ranked.sort((a, b) -> logits[a] > logits[b] ? -1 : logits[a] < logits[b] ? 1 : Integer.compare(a, b));
        if (k > 0 && k < ranked.size()) {
            ranked = ranked.subList(0, k);
        }
        if (p >= 1) {
            return ranked;
        }
        double[] probs = softmax(logits, ranked, 1);
        double head = 0;
        for (int i = 0; i < ranked.size(); i++) {
            head += probs[i];
            if (head >= p - TopP.TOLERANCE) {
                return ranked.subList(0, i + 1);
            }
        }
        return ranked;
    }

    /** softmax(logits[ids] / t), in double, finite logits only. */
    static double[] softmax(float[] logits, List<Integer> ids, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (int id : ids) {
            max = Math.max(max, logits[id]);
        }
        double[] p = new double[ids.size()];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[ids.get(i)] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** How often each id is drawn in {@code draws} calls. */
    static int[] histogram(Sampler sampler, float[] logits, int vocabLimit, int draws) {
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits, vocabLimit)]++;
        }
        return counts;
    }

    /** Pearson's statistic of observed counts against expected probabilities of the listed ids. */
    static double chiSquare(int[] counts, List<Integer> ids, double[] probs) {
        long total = 0;
        for (int c : counts) {
            total += c;
        }
        double chi2 = 0;
        for (int i = 0; i < probs.length; i++) {
            double expected = total * probs[i];
            double d = counts[ids.get(i)] - expected;
            chi2 += d * d / expected;
        }
        return chi2;
    }

    /**
     * The chi-square value exceeded with probability 0.001 at {@code df} degrees of freedom
     * (Wilson-Hilferty approximation, z = 3.0902; within 2% of the tables for df >= 3, and
     * 10.6 instead of 10.83 at df = 1).
     */
    static double critical999(int df) {
        double a = 2.0 / (9 * df);
        double c = 1 - a + 3.0902 * Math.sqrt(a);
        return df * c * c * c;
    }

    /** Asserts the draws follow {@code probs} over {@code ids} and never hit any other id. */
    static void assertFollows(int[] counts, List<Integer> ids, double[] probs) {
        long outside = 0;
        for (int id = 0; id < counts.length; id++) {
            if (!ids.contains(id)) {
                outside += counts[id];
            }
        }
        assertThat(outside).as("draws outside the %d kept ids", ids.size()).isZero();
        if (ids.size() > 1) {
            assertThat(chiSquare(counts, ids, probs)).as("chi-square over %d ids", ids.size()).isLessThan(critical999(ids.size() - 1));
        }
    }

    /** Gaussian logits from a fixed seed, optionally rounded to a grid to create ties. */
    static float[] gaussianLogits(int n, long seed, float scale, float grid) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller from two uniforms; StrictMath so the rows are the same on every JVM
            double g = StrictMath.sqrt(-2 * StrictMath.log(1 - random.nextDouble()))
                    * StrictMath.cos(2 * Math.PI * random.nextDouble());
            float v = (float) (g * scale);
            logits[i] = grid > 0 ? Math.round(v / grid) * grid : v;
        }
        return logits;
    }
}
