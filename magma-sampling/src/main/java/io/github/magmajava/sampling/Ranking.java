package io.github.magmajava.sampling;

/**
 * The total order the filters rank token ids by: larger logit first, the lower id first on equal
 * logits. It makes top-k and top-p deterministic when logits tie at the cut. Both filters keep a
 * prefix of this ranking, so what they keep is fully described by its last id, the cutoff. Heaps
 * of ids over this order let both filters avoid a full sort.
 */
final class Ranking {
    private Ranking() {
    }

    static boolean ranksAbove(float[] logits, int a, int b) {
        float la = logits[a];
        float lb = logits[b];
        return la > lb || (la == lb && a < b);
    }

    /** Whether {@code id} belongs to the rank prefix that ends at {@code cutoff}. */
    static boolean atOrAbove(float[] logits, int id, int cutoff) {
        return id == cutoff || ranksAbove(logits, id, cutoff);
    }

    /** The lowest-ranked of {@code ids[0..n)}, n >= 1. */
    static int worst(float[] logits, int[] ids, int n) {
        int worst = ids[0];
        for (int i = 1; i < n; i++) {
            if (ranksAbove(logits, worst, ids[i])) {
                worst = ids[i];
            }
        }
        return worst;
    }

    /** Builds a heap over {@code ids[0..size)} with the best (or, if not bestOnTop, the worst) id at index 0. */
    static void heapify(float[] logits, int[] ids, int size, boolean bestOnTop) {
        for (int i = size / 2 - 1; i >= 0; i--) {
            siftDown(logits, ids, size, i, bestOnTop);
        }
    }

    static void siftDown(float[] logits, int[] ids, int size, int i, boolean bestOnTop) {
        int id = ids[i];
        for (int child = 2 * i + 1; child < size; child = 2 * i + 1) {
            if (child + 1 < size && onTop(logits, ids[child + 1], ids[child], bestOnTop)) {
                child++;
            }
            if (!onTop(logits, ids[child], id, bestOnTop)) {
                break;
            }
            ids[i] = ids[child];
            i = child;
        }
        ids[i] = id;
    }

    private static boolean onTop(float[] logits, int a, int b, boolean bestOnTop) {
        return bestOnTop ? ranksAbove(logits, a, b) : ranksAbove(logits, b, a);
    }
}
