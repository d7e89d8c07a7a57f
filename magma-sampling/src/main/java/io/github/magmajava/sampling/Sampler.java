package io.github.magmajava.sampling;

/**
 * Chooses the next token id from one row of LM-head logits (length {@code vocabSize}, 50400 for
 * MAGMA). Only ids below {@code vocabLimit} (the embedding's {@code realVocabSize}, 50258) are
 * ever returned: the rows above it have no embedding to feed back.
 *
 * <p>Every implementation rejects a NaN logit below {@code vocabLimit} with an
 * {@link IllegalArgumentException}, never returns an id whose logit is -infinity, prefers a
 * +infinity logit over every finite one, and fails clearly when every logit below
 * {@code vocabLimit} is -infinity.
 */
public interface Sampler {

    /** Greedy decoding: the largest logit, the lowest id on ties (as torch.argmax). Stateless, thread-safe. */
    Sampler ARGMAX = Argmax::choose;

    /**
     * @param logits     one row of logits; not modified
     * @param vocabLimit ids {@code >= vocabLimit} are never returned; 1 .. logits.length
     */
    int sample(float[] logits, int vocabLimit);

    /**
     * The sampler for one generation: {@link #ARGMAX} when the temperature is 0, otherwise a fresh
     * stochastic sampler whose random generator is seeded with {@code options.seed()}. A stochastic
     * sampler holds that generator and a scratch buffer, so it is not thread-safe: create one per
     * generation and call it from one thread. The same seed and the same logits give the same ids
     * on every run and every JVM.
     */
    static Sampler create(SamplingOptions options) {
        return options.temperature() == 0 ? ARGMAX : new StochasticSampler(options);
    }
}
