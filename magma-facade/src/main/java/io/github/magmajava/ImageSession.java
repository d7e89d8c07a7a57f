package io.github.magmajava;

import io.github.magmajava.gptj.KvCache;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.image.PreprocessedImage;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Questions about one image, its prefix computed once: the first question encodes the image and
 * runs its positions through the language model, which are then kept (immutable); each
 * {@link #ask} extends them with its own prompt and answer, copying nothing, so later questions
 * prefill only their prompt's tokens. Asks may run concurrently and never see each other's
 * tokens; each answer equals {@link Magma#generate} for the same image, prompt and options (the
 * same tokens; logits within float rounding, the prefill being split differently). Made by
 * {@link Magma#session}.
 */
public final class ImageSession implements AutoCloseable {
    private final Magma magma;
    private final PreprocessedImage image;
    private final Duration preprocess;
    /** Made by the first question; guarded by this. */
    private Prefix prefix;
    private volatile boolean closed;

    /**
     * The image's part of every question: its embeddings, and its positions kept in a frozen
     * cache (null in the static sequence mode, where each question reruns them).
     */
    record Prefix(float[] embeddings, KvCache kept, Duration encode, Duration imagePrefill) {
    }

    /** The prefix, and whether this call made it (and so pays for it). */
    record Made(Prefix prefix, boolean now) {
    }

    ImageSession(Magma magma, PreprocessedImage image, Duration preprocess) {
        this.magma = magma;
        this.image = image;
        this.preprocess = preprocess;
    }

    /** With the default sampling options. */
    public Generation ask(String prompt) {
        return ask(prompt, SamplingOptions.defaults(), TokenListener.NONE);
    }

    public Generation ask(String prompt, SamplingOptions options) {
        return ask(prompt, options, TokenListener.NONE);
    }

    /**
     * Answers {@code prompt} about the session's image, telling {@code listener} each token. The
     * first question also encodes the image and runs its positions (its {@code prefillTokens} and
     * time to first token include them); later ones prefill only their prompt.
     *
     * @throws IllegalStateException    after {@link #close()}
     * @throws IllegalArgumentException when the prompt does not fit the context
     */
    public Generation ask(String prompt, SamplingOptions options, TokenListener listener) {
        return ask(prompt, options, List.of(), listener, false);
    }

    /**
     * As {@link #ask(String, SamplingOptions, TokenListener)}, the answer ending before the first
     * of the {@code stop} strings it produces ({@link StopReason#STOP_SEQUENCE}).
     */
    public Generation ask(String prompt, SamplingOptions options, List<String> stop, TokenListener listener) {
        return ask(prompt, options, stop, listener, false);
    }

    /** As {@link #ask(String, SamplingOptions, List, TokenListener)}, keeping every step's logits when {@code capture}. */
    Generation ask(String prompt, SamplingOptions options, List<String> stop, TokenListener listener, boolean capture) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        List<String> stops = GenerationRequest.checkStop(stop);
        if (closed) {
            throw new IllegalStateException("this image session is closed");
        }
        return magma.ask(this, prompt, options, stops, listener, capture);
    }

    /** Time to read and preprocess the image when the session opened. */
    Duration preprocessTime() {
        return preprocess;
    }

    /** The prefix, made now (telling {@code listener} the progress) when no question made it before. */
    synchronized Made prefix(TokenListener listener) {
        if (prefix != null) {
            return new Made(prefix, false);
        }
        prefix = magma.imagePrefix(image, listener);
        return new Made(prefix, true);
    }

    /** Drops the kept positions; the model stays open. */
    @Override
    public synchronized void close() {
        closed = true;
        prefix = null;
    }
}
