package io.github.magmajava;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.gptj.Sequence;
import io.github.magmajava.sampling.Sampler;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.text.Gpt2Tokenizer;
import io.github.magmajava.text.StreamingDecoder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The one generation loop: prefill, sample, decode, stop rules, streaming. {@link Magma#generate},
 * {@link ImageSession#ask} (and so {@code magma chat}) run it; they differ only in the
 * {@link Sequence} they hand it and in what they did before (decoding, encoding the image).
 */
final class GenerationLoop {
    private final Gpt2Tokenizer tokenizer;
    private final MagmaConfig config;

    GenerationLoop(Gpt2Tokenizer tokenizer, MagmaConfig config) {
        this.tokenizer = tokenizer;
        this.config = config;
    }

    /**
     * @param tokens        the answer, without end-of-text
     * @param prefillTokens the positions the prefill ran
     * @param logits        each sampling step's logits when captured, else empty
     */
    record Outcome(int[] tokens, StopReason reason, int prefillTokens, Duration prefill, Duration decode, int decodeSteps,
            List<float[]> logits) {
        /** This outcome with an image's {@code positions}, run in {@code time} just before it, counted in its prefill. */
        Outcome afterImage(int positions, Duration time) {
            return new Outcome(tokens, reason, prefillTokens + positions, prefill.plus(time), decode, decodeSteps, logits);
        }
    }

    /**
     * Prefills {@code imageRows} rows of {@code imageEmbeddings} and the prompt {@code ids} on
     * {@code sequence}, then samples at most {@code maxNew} tokens (fewer than asked when the
     * context is full), telling {@code listener} each one.
     */
    Outcome run(Sequence sequence, float[] imageEmbeddings, int imageRows, int[] ids, int maxNew, SamplingOptions options,
            boolean capture, TokenListener listener) {
        long t0 = System.nanoTime();
        float[] logits = sequence.start(imageEmbeddings, imageRows, ids);
        long t1 = System.nanoTime();
        Sampler sampler = Sampler.create(options);
        Announcer announcer = new Announcer(listener, tokenizer.streamingDecoder());
        List<float[]> captured = new ArrayList<>();
        int[] tokens = new int[maxNew];
        int count = 0;
        StopReason reason = maxNew < options.maxNewTokens() ? StopReason.CONTEXT_FULL : StopReason.MAX_TOKENS;
        int decodeSteps = 0;
        while (true) {
            if (capture) {
                captured.add(logits.clone());
            }
            int token = sampler.sample(logits, config.transformer().realVocabSize());
            if (token == Gpt2Tokenizer.END_OF_TEXT) {
                reason = StopReason.END_OF_TEXT;
                break;
            }
            tokens[count++] = token;
            announcer.add(token);
            if (count == maxNew) {
                break;
            }
            logits = sequence.next(token);
            decodeSteps++;
        }
        announcer.finish();
        long t2 = System.nanoTime();
        return new Outcome(Arrays.copyOf(tokens, count), reason, sequence.prefilled(), Duration.ofNanos(t1 - t0),
                Duration.ofNanos(t2 - t1), decodeSteps, captured);
    }

    /** The caller's answer: the outcome with its text and the stages before the loop. */
    Generation generation(Outcome outcome, int promptTokens, Duration preprocess, Duration imageEncode,
            Optional<CapturedTensors> tensors) {
        Timings timings = new Timings(preprocess, imageEncode, outcome.prefill(), outcome.decode(), outcome.decodeSteps());
        return new Generation(tokenizer.decode(outcome.tokens()), outcome.tokens(), promptTokens, outcome.prefillTokens(),
                outcome.reason(), timings, tensors);
    }

    /**
     * Tells the listener each token once (see {@link TokenListener}): a token after which the
     * decoder holds back bytes waits for the next token, or for the end, to know its text.
     */
    private static final class Announcer {
        private final TokenListener listener;
        private final StreamingDecoder decoder;
        private int waiting = -1;
        private String waitingPiece;

        Announcer(TokenListener listener, StreamingDecoder decoder) {
            this.listener = listener;
            this.decoder = decoder;
        }

        void add(int token) {
            if (waiting >= 0) {
                listener.onToken(waiting, waitingPiece);
                waiting = -1;
            }
            String piece = decoder.push(token);
            if (decoder.holdsBack()) {
                waiting = token;
                waitingPiece = piece;
            } else {
                listener.onToken(token, piece);
            }
        }

        /** The answer is complete: the waiting token gets the rest of the text. */
        void finish() {
            if (waiting >= 0) {
                listener.onToken(waiting, waitingPiece + decoder.flush());
                waiting = -1;
            }
        }
    }
}
