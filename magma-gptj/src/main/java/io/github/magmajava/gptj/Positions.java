package io.github.magmajava.gptj;

/**
 * Where the rows of one forward call go: {@code rows} consecutive new positions of one sequence
 * (a prompt, or one decode step), or the next position of each of several sequences, one row
 * each (a batched decode step). Each cache is written at its own {@link KvCache#length()}.
 */
record Positions(KvCache[] caches, int rows) {
    static Positions of(KvCache cache, int rows) {
        return new Positions(new KvCache[] {cache}, rows);
    }

    /** Row i is the next position of {@code caches[i]}. */
    static Positions each(KvCache[] caches) {
        return new Positions(caches.clone(), caches.length);
    }

    /** One row per sequence (a batch), rather than a run of one sequence's positions. */
    boolean batched() {
        return caches.length > 1;
    }

    void checkRoom() {
        for (KvCache cache : caches) {
            cache.checkRoom(batched() ? 1 : rows);
        }
    }

    /** Counts the rows stored by every layer. */
    void advance() {
        for (KvCache cache : caches) {
            cache.advance(batched() ? 1 : rows);
        }
    }
}
