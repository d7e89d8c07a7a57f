package io.github.magmajava.gptj;

import java.util.ArrayList;
import java.util.List;

/**
 * One generation's positions on the language model: the prompt (image embeddings, then text ids)
 * first, then one sampled token at a time. The prompt may run in chunks ({@link #prefill}), so a
 * long one can take turns with other generations' decode steps. Made by {@link GptjModel#sequence};
 * not thread-safe, one per generation.
 */
public sealed interface Sequence permits CachedSequence, PaddedSequence {
    /**
     * Sets the prompt, nothing run yet: {@code imageRows} rows of image embeddings
     * [imageRows, hiddenSize], then the embeddings of {@code ids}.
     *
     * @throws IllegalStateException when a prompt was set before
     */
    void prompt(float[] imageEmbeddings, int imageRows, int[] ids);

    /** Prompt positions not run yet. */
    int pendingRows();

    /**
     * Runs the next at most {@code maxRows} positions of the prompt (the static mode runs it whole).
     *
     * @return the logits [vocabSize] of the prompt's last position once it has run, else null
     */
    float[] prefill(int maxRows);

    /** The whole prompt at once: {@link #prompt}, then {@link #prefill} of all of it. */
    default float[] start(float[] imageEmbeddings, int imageRows, int[] ids) {
        prompt(imageEmbeddings, imageRows, ids);
        return prefill(Integer.MAX_VALUE);
    }

    /** Appends {@code token} and returns the logits of the new last position. */
    float[] next(int token);

    /** Positions the prefill ran ({@link #prefill}): the whole padded sequence in the static mode. */
    int prefilled();

    /**
     * The positions run so far, kept ({@link KvCache#freeze}) for {@link GptjModel#continueFrom}.
     *
     * @throws UnsupportedOperationException in the static mode, which keeps no positions
     */
    KvCache keep();

    /**
     * One decode step of several generations: {@code tokens[i]} appended to
     * {@code sequences.get(i)}, its logits at index i, each exactly what
     * {@link #next(int) next(tokens[i])} gives alone. Cached sequences of one model share their
     * steps ({@link GptjModel#decode}); static ones run alone.
     */
    static List<float[]> next(List<? extends Sequence> sequences, int[] tokens) {
        if (tokens.length != sequences.size()) {
            throw new IllegalArgumentException(tokens.length + " tokens for " + sequences.size() + " sequences");
        }
        float[][] logits = new float[tokens.length][];
        List<Integer> batch = new ArrayList<>();
        GptjModel model = null;
        for (int i = 0; i < tokens.length; i++) {
            if (sequences.get(i) instanceof CachedSequence cached && (model == null || cached.model() == model)) {
                model = cached.model();
                batch.add(i);
            } else {
                logits[i] = sequences.get(i).next(tokens[i]);
            }
        }
        if (!batch.isEmpty()) {
            int[] ids = new int[batch.size()];
            KvCache[] caches = new KvCache[batch.size()];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = tokens[batch.get(j)];
                caches[j] = ((CachedSequence) sequences.get(batch.get(j))).cache();
            }
            float[][] batched = model.decode(ids, caches);
            for (int j = 0; j < ids.length; j++) {
                logits[batch.get(j)] = batched[j];
            }
        }
        return List.of(logits);
    }
}
