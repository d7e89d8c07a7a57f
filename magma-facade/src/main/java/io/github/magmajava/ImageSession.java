package io.github.magmajava;

import io.github.magmajava.gptj.KvCache;
import io.github.magmajava.sampling.SamplingOptions;
import java.time.Duration;
import java.util.Objects;

/**
 * Questions about one image, its prefix computed once: the image is encoded and its positions
 * run through the language model when the session opens, and kept (immutable); each
 * {@link #ask} extends them with its own prompt and answer, copying nothing, so it prefills only
 * its prompt's tokens. Asks may run concurrently and never see each other's tokens; each answer
 * equals {@link Magma#generate} for the same image, prompt and options (the same tokens; logits
 * within float rounding, the prefill being split differently). Made by {@link Magma#session}.
 *
 * <p>Closing drops the kept positions; the model stays open.
 */
public final class ImageSession implements AutoCloseable {
    private final Magma magma;
    private final float[] embeddings;
    private final KvCache kept;
    private final Duration preprocess;
    private final Duration imagePrefill;
    private volatile boolean closed;

    ImageSession(Magma magma, float[] embeddings, KvCache kept, Duration preprocess, Duration imagePrefill) {
        this.magma = magma;
        this.embeddings = embeddings;
        this.kept = kept;
        this.preprocess = preprocess;
        this.imagePrefill = imagePrefill;
    }

    /** With the default sampling options. */
    public Generation ask(String prompt) {
        return ask(prompt, SamplingOptions.defaults(), TokenListener.NONE);
    }

    public Generation ask(String prompt, SamplingOptions options) {
        return ask(prompt, options, TokenListener.NONE);
    }

    /**
     * Answers {@code prompt} about the session's image, telling {@code listener} each token.
     *
     * @throws IllegalStateException    after {@link #close()}
     * @throws IllegalArgumentException when the prompt does not fit the context
     */
    public Generation ask(String prompt, SamplingOptions options, TokenListener listener) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        return ask(prompt, options, listener, false);
    }

    /** As {@link #ask(String, SamplingOptions, TokenListener)}, keeping every step's logits when {@code capture}. */
    Generation ask(String prompt, SamplingOptions options, TokenListener listener, boolean capture) {
        if (closed) {
            throw new IllegalStateException("this image session is closed");
        }
        return magma.ask(this, prompt, options, listener, capture);
    }

    /** Time to read and preprocess the image when the session opened. */
    public Duration preprocessTime() {
        return preprocess;
    }

    /** Time to encode the image and run its positions when the session opened. */
    public Duration imagePrefillTime() {
        return imagePrefill;
    }

    KvCache kept() {
        return kept;
    }

    float[] embeddings() {
        return embeddings;
    }

    @Override
    public void close() {
        closed = true;
    }
}
