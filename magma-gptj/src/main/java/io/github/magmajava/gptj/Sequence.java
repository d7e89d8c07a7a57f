package io.github.magmajava.gptj;

/**
 * One generation's positions on the language model: the prompt (image embeddings, then text ids)
 * first, then one sampled token at a time. Made by {@link GptjModel#sequence}; not thread-safe,
 * one per generation.
 */
public sealed interface Sequence permits CachedSequence, PaddedSequence {
    /**
     * Runs the prompt: {@code imageRows} rows of image embeddings [imageRows, hiddenSize], then
     * the embeddings of {@code ids}.
     *
     * @return the logits [vocabSize] of its last position
     */
    float[] start(float[] imageEmbeddings, int imageRows, int[] ids);

    /** Appends {@code token} and returns the logits of the new last position. */
    float[] next(int token);

    /** Positions the prefill ran ({@link #start}): the whole padded sequence in the static mode. */
    int prefilled();
}
