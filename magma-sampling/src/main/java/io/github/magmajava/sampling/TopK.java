package io.github.magmajava.sampling;

/** The top-k filter: keeps the k best-ranked candidates (see {@link Ranking}). */
final class TopK {
    private TopK() {
    }

    /**
     * Moves the k best of {@code ids[0..n)} to {@code ids[0..k)}, in no particular order, and
     * returns how many are kept: min(k, n). O(n log k): a heap of the k best seen so far, worst on top.
     */
    static int keep(float[] logits, int[] ids, int n, int k) {
        if (k >= n) {
            return n;
        }
        Ranking.heapify(logits, ids, k, false);
        for (int i = k; i < n; i++) {
            if (Ranking.ranksAbove(logits, ids[i], ids[0])) {
                ids[0] = ids[i];
                Ranking.siftDown(logits, ids, k, 0, false);
            }
        }
        return k;
    }
}
