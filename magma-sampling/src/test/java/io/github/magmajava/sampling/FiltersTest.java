package io.github.magmajava.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** TopK and TopP against the naive full-sort reference, and on hand-made distributions. */
class FiltersTest {

    private static List<Integer> candidates(float[] logits, int vocabLimit, int[] ids) {
        int n = 0;
        for (int id = 0; id < vocabLimit; id++) {
            if (logits[id] != Float.NEGATIVE_INFINITY) {
                ids[n++] = id;
            }
        }
        return Arrays.stream(ids, 0, n).boxed().toList();
    }

    private static float max(float[] logits, int[] ids, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[ids[i]]);
        }
        return max;
    }

    /** Runs the fast filters the way the sampler does and returns the kept ids, in ascending order. */
    private static List<Integer> fastKept(float[] logits, int vocabLimit, int k, float p) {
        int[] ids = new int[vocabLimit];
        int n = candidates(logits, vocabLimit, ids).size();
        float max = max(logits, ids, n);
        if (k > 0) {
            n = TopK.keep(logits, ids, n, k);
        }
        int cutoff = p < 1 ? TopP.cutoff(logits, ids, n, p, max, new double[vocabLimit], new double[TopP.BUCKETS]) : Ranking.worst(logits, ids, n);
        return IntStream.range(0, vocabLimit).filter(id -> Ranking.atOrAbove(logits, id, cutoff)).boxed().toList();
    }

    /** Scales from 0.01 (one top-p bucket holds everything) to 40 (logits spread far past the last bucket). */
    @ParameterizedTest(name = "k={0} p={1} scale={2} grid={3}")
    @CsvSource({
        "1, 1, 3, 0", "5, 1, 3, 0", "40, 1, 3, 0", "999, 1, 3, 0", "5000, 1, 3, 0",
        "0, 0.9, 3, 0", "0, 0.5, 3, 0", "0, 0.01, 3, 0", "40, 0.9, 3, 0", "300, 0.95, 3, 0",
        "7, 1, 3, 0.25", "100, 1, 3, 0.5", "0, 0.9, 3, 0.5", "50, 0.8, 3, 0.25", "0, 0.9, 3, 0.0625",
        "0, 0.9, 0.01, 0", "0, 0.9, 0.3, 0", "0, 0.99, 1, 0", "0, 0.9999999, 1, 0",
        "0, 0.9, 40, 0", "0, 0.9999999, 40, 0", "0, 0.9999999, 40, 1", "0, 0.5, 0, 0"})
    void filtersKeepExactlyTheReferenceSet(int k, float p, float scale, float grid) {
        for (long seed = 0; seed < 5; seed++) {
            float[] logits = Distributions.gaussianLogits(2000, seed, scale, grid);
            int vocabLimit = 1900;
            List<Integer> expected = Distributions.referenceKept(logits, vocabLimit, k, p);
            assertThat(fastKept(logits, vocabLimit, k, p)).as("seed %d", seed).containsExactlyInAnyOrderElementsOf(expected);
            if (k > 0 && p == 1) {
                assertThat(expected).hasSize(Math.min(k, vocabLimit));
            }
        }
    }

    @Test
    void topKTiesAtTheCutKeepTheLowestIds() {
        float[] logits = {3f, 1f, 2f, 2f, 2f, 0f, 2f};
        assertThat(fastKept(logits, 7, 2, 1f)).containsExactlyInAnyOrder(0, 2);
        assertThat(fastKept(logits, 7, 3, 1f)).containsExactlyInAnyOrder(0, 2, 3);
        assertThat(fastKept(logits, 7, 5, 1f)).containsExactlyInAnyOrder(0, 2, 3, 4, 6);
    }

    @Test
    void topKLargerThanTheCandidatesKeepsThemAll() {
        float[] logits = {1f, Float.NEGATIVE_INFINITY, 2f};
        assertThat(fastKept(logits, 3, 5, 1f)).containsExactlyInAnyOrder(0, 2);
    }

    /** Probabilities 0.15, 0.5, 0.05, 0.3 at ids 0..3 (shuffled so the filter must rank them). */
    private static final float[] HAND_MADE = {
        (float) Math.log(0.15) + 3, (float) Math.log(0.5) + 3, (float) Math.log(0.05) + 3, (float) Math.log(0.3) + 3};

    @Test
    void topPKeepsTheSmallestHeadReachingP() {
        assertThat(fastKept(HAND_MADE, 4, 0, 0.8f)).containsExactlyInAnyOrder(1, 3);
        assertThat(fastKept(HAND_MADE, 4, 0, 0.81f)).containsExactlyInAnyOrder(1, 3, 0);
        assertThat(fastKept(HAND_MADE, 4, 0, 0.95f)).containsExactlyInAnyOrder(1, 3, 0);
        assertThat(fastKept(HAND_MADE, 4, 0, 0.96f)).containsExactlyInAnyOrder(1, 3, 0, 2);
        assertThat(fastKept(HAND_MADE, 4, 0, 0.5f)).containsExactly(1);
        assertThat(fastKept(HAND_MADE, 4, 0, 0.51f)).containsExactlyInAnyOrder(1, 3);
    }

    @Test
    void topPAlwaysKeepsAtLeastTheBestToken() {
        assertThat(fastKept(HAND_MADE, 4, 0, 1e-9f)).containsExactly(1);
    }

    @Test
    void topPWorksOnTheProbabilitiesLeftByTopK() {
        // after top-2 the probabilities are 0.5/0.8 = 0.625 and 0.375
        assertThat(fastKept(HAND_MADE, 4, 2, 0.62f)).containsExactly(1);
        assertThat(fastKept(HAND_MADE, 4, 2, 0.63f)).containsExactlyInAnyOrder(1, 3);
    }

    @Test
    void topPOverPositiveInfinitiesSplitsTheMassEquallyAmongThem() {
        float inf = Float.POSITIVE_INFINITY;
        float[] logits = {5f, inf, inf, 9f, inf, inf};
        // four +inf ids of probability 1/4 each, ranked by id
        assertThat(fastKept(logits, 6, 0, 0.5f)).containsExactlyInAnyOrder(1, 2);
        assertThat(fastKept(logits, 6, 0, 0.6f)).containsExactlyInAnyOrder(1, 2, 4);
        assertThat(fastKept(logits, 6, 0, 0.99f)).containsExactlyInAnyOrder(1, 2, 4, 5);
    }

    /** The order is strict and total: equal logits rank by id, and no id ranks above itself. */
    @Test
    void rankingIsAStrictTotalOrder() {
        float[] logits = {2f, 5f, 5f, -1f};
        assertThat(Ranking.ranksAbove(logits, 1, 0)).isTrue();
        assertThat(Ranking.ranksAbove(logits, 0, 1)).isFalse();
        assertThat(Ranking.ranksAbove(logits, 1, 2)).as("equal logits: the lower id first").isTrue();
        assertThat(Ranking.ranksAbove(logits, 2, 1)).isFalse();
        for (int id = 0; id < logits.length; id++) {
            assertThat(Ranking.ranksAbove(logits, id, id)).as("id %d against itself", id).isFalse();
            assertThat(Ranking.atOrAbove(logits, id, id)).as("a cutoff is in its own prefix").isTrue();
        }
    }

    /** Rows of one and two candidates, every filter on: the heaps and buckets at their smallest. */
    @Test
    void filtersWorkOnTheSmallestRows() {
        assertThat(fastKept(new float[] {0.5f}, 1, 0, 0.3f)).containsExactly(0);
        assertThat(fastKept(new float[] {0.5f}, 1, 1, 0.3f)).containsExactly(0);
        // two equal logits share one top-p bucket: p = 0.5 keeps the lower id only
        assertThat(fastKept(new float[] {1f, 1f}, 2, 0, 0.5f)).containsExactly(0);
        assertThat(fastKept(new float[] {1f, 1f}, 2, 0, 0.6f)).containsExactlyInAnyOrder(0, 1);
        assertThat(fastKept(new float[] {1f, 1f}, 2, 1, 1f)).containsExactly(0);
    }
}
