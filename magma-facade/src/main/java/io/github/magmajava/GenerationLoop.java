package io.github.magmajava;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.gptj.KvCache;
import io.github.magmajava.gptj.Sequence;
import io.github.magmajava.sampling.Sampler;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.text.Gpt2Tokenizer;
import io.github.magmajava.text.StreamingDecoder;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The one generation loop: prefill, sample, decode, stop rules, streaming. {@link Magma#generate},
 * {@link ImageSession#ask} (and so {@code magma chat}, {@code magma serve} and batch jobs) hand it
 * a {@link Sequence} and wait for their answer.
 *
 * <p>Generations in flight share the model: one scheduling thread advances all of them, at most
 * {@code batchSize} at once (the others wait their turn, first come first served). Each turn runs
 * one chunk of at most {@code prefillChunk} prompt positions of the oldest generation still
 * reading its prompt, then one decode step of every generation that has a token to feed, in one
 * pass over the weights ({@link Sequence#next(List, int[])}). A generation's answer does not
 * depend on the others: its prompt is chunked the same way whatever runs beside it, and a batched
 * decode step gives each row what it gives alone, bit for bit. Listeners run on the caller's thread, never on
 * the scheduler's, so a slow one only slows its own generation.
 */
final class GenerationLoop implements AutoCloseable {
    private final Gpt2Tokenizer tokenizer;
    private final MagmaConfig config;
    private final int batchSize;
    /** Prompt positions per turn: how long one prompt may hold up the others' decode steps. */
    private final int prefillChunk;
    private final Object lock = new Object();
    /** Submitted, not started yet; guarded by lock. */
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    /** Guarded by lock. */
    private Thread scheduler;
    private boolean closed;
    private volatile int running;
    private volatile int queued;

    GenerationLoop(Gpt2Tokenizer tokenizer, MagmaConfig config, int batchSize, int prefillChunk) {
        if (batchSize < 1 || prefillChunk < 1) {
            throw new IllegalArgumentException("batch size and prefill chunk must be >= 1, found " + batchSize + " and "
                    + prefillChunk);
        }
        this.tokenizer = tokenizer;
        this.config = config;
        this.batchSize = batchSize;
        this.prefillChunk = prefillChunk;
    }

    /**
     * @param tokens        the answer, without end-of-text
     * @param prefillTokens the positions the prefill ran
     * @param logits        each sampling step's logits when captured, else empty
     */
    record Outcome(int[] tokens, String text, StopReason reason, int prefillTokens, Duration prefill, Duration decode,
            int decodeSteps, List<float[]> logits) {
        /** This outcome with an image's {@code positions}, run in {@code time} just before it, counted in its prefill. */
        Outcome afterImage(int positions, Duration time) {
            return new Outcome(tokens, text, reason, prefillTokens + positions, prefill.plus(time), decode, decodeSteps, logits);
        }
    }

    /** Generations advancing now, and generations waiting for a place among them. */
    Magma.Workload workload() {
        return new Magma.Workload(running, queued);
    }

    /**
     * Prefills {@code imageRows} rows of {@code imageEmbeddings} and the prompt {@code ids} on
     * {@code sequence}, then samples at most {@code maxNew} tokens (fewer than asked when the
     * context is full), telling {@code listener} each one on this thread. Stops early at
     * end-of-text or at the first of {@code stop}'s strings in the answer (left out of its text).
     *
     * @throws CancellationException when this thread is interrupted while it waits (the generation
     *                               is dropped, the interrupt flag kept)
     * @throws IllegalStateException when the model is closed before the answer is complete
     */
    Outcome run(Sequence sequence, float[] imageEmbeddings, int imageRows, int[] ids, int maxNew, SamplingOptions options,
            List<String> stop, boolean capture, TokenListener listener) {
        sequence.prompt(imageEmbeddings, imageRows, ids);
        Run run = new Run(sequence, maxNew, options, stop, capture);
        return (Outcome) await(run, listener);
    }

    /**
     * Runs {@code rows} image embeddings into {@code sequence} and keeps its positions
     * ({@link Sequence#keep}), telling {@code listener} the progress.
     */
    KvCache keep(Sequence sequence, float[] embeddings, int rows, TokenListener listener) {
        sequence.prompt(embeddings, rows, new int[0]);
        return (KvCache) await(new Keep(sequence), listener);
    }

    private Object await(Job job, TokenListener listener) {
        submit(job);
        try {
            while (true) {
                switch (job.events.take()) {
                    case Event.Token t -> listener.onToken(t.id(), t.piece());
                    case Event.Progress p -> listener.onProgress(TokenListener.Stage.READING_PROMPT, p.done(), p.total());
                    case Event.Done d -> {
                        return d.result();
                    }
                    case Event.Failed f -> throw rethrown(f.error());
                }
            }
        } catch (InterruptedException e) {
            job.cancelled = true;
            Thread.currentThread().interrupt();
            throw new CancellationException("generation interrupted");
        } catch (RuntimeException | Error e) {
            // The listener stopped it (or it failed): drop it before another step is computed for it.
            job.cancelled = true;
            throw e;
        }
    }

    private static RuntimeException rethrown(Throwable error) {
        if (error instanceof RuntimeException r) {
            return r;
        }
        if (error instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(error);
    }

    private void submit(Job job) {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the model is closed");
            }
            waiting.add(job);
            queued = waiting.size();
            if (scheduler == null) {
                scheduler = Thread.ofPlatform().name("magma-generation").daemon().start(this::schedule);
            }
            lock.notifyAll();
        }
    }

    /** The scheduling thread: turns until the loop is closed. */
    private void schedule() {
        List<Job> active = new ArrayList<>();
        while (true) {
            synchronized (lock) {
                while (!closed && active.isEmpty() && waiting.isEmpty()) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                if (closed) {
                    IllegalStateException error = new IllegalStateException("the model was closed before the answer was complete");
                    active.addAll(waiting);
                    waiting.clear();
                    active.forEach(job -> job.fail(error));
                    running = 0;
                    queued = 0;
                    return;
                }
                while (active.size() < batchSize && !waiting.isEmpty()) {
                    active.add(waiting.poll());
                }
                queued = waiting.size();
            }
            running = active.size();
            turn(active);
            active.removeIf(job -> job.finished);
            running = active.size();
        }
    }

    /** One chunk of the oldest prompt still running, then one decode step of every generation with a token to feed. */
    private void turn(List<Job> active) {
        for (Job job : active) {
            if (job.cancelled) {
                job.fail(new CancellationException("generation cancelled"));
            }
        }
        for (Job job : active) {
            if (!job.finished && job.sequence.pendingRows() > 0) {
                try {
                    job.prefillChunk(prefillChunk);
                } catch (RuntimeException | Error e) {
                    job.fail(e);
                }
                break;
            }
        }
        List<Run> decoding = new ArrayList<>();
        for (Job job : active) {
            if (!job.finished && job instanceof Run run && run.next >= 0) {
                decoding.add(run);
            }
        }
        if (decoding.isEmpty()) {
            return;
        }
        List<Sequence> sequences = new ArrayList<>();
        int[] tokens = new int[decoding.size()];
        for (int i = 0; i < tokens.length; i++) {
            sequences.add(decoding.get(i).sequence);
            tokens[i] = decoding.get(i).next;
        }
        List<float[]> logits;
        try {
            logits = Sequence.next(sequences, tokens);
        } catch (RuntimeException | Error e) {
            decoding.forEach(run -> run.fail(e));
            return;
        }
        for (int i = 0; i < tokens.length; i++) {
            Run run = decoding.get(i);
            try {
                run.decodeSteps++;
                run.accept(logits.get(i));
            } catch (RuntimeException | Error e) {
                run.fail(e);
            }
        }
    }

    /** Fails the generations in flight and waits for the scheduling thread to end. */
    @Override
    public void close() {
        Thread thread;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            thread = scheduler;
        }
        if (thread != null) {
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** What the scheduler tells a waiting caller. */
    private sealed interface Event {
        record Token(int id, String piece) implements Event {
        }

        record Done(Object result) implements Event {
        }

        /** {@code done} of the prompt's {@code total} positions have run. */
        record Progress(int done, int total) implements Event {
        }

        record Failed(Throwable error) implements Event {
        }
    }

    /** Work for the scheduler: a prompt to run in chunks, then whatever the kind of job does with its logits. */
    private abstract static class Job {
        final Sequence sequence;
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        /** Set by the caller (interrupted, or its listener failed); the scheduler drops the job at its next turn. */
        volatile boolean cancelled;
        /** Scheduler thread only. */
        boolean finished;
        long prefillStart;
        /** The prompt's positions, known at its first chunk. */
        int total;

        Job(Sequence sequence) {
            this.sequence = sequence;
        }

        final void prefillChunk(int rows) {
            if (prefillStart == 0) {
                prefillStart = System.nanoTime();
                total = sequence.pendingRows();
                events.add(new Event.Progress(0, total));
            }
            float[] logits = sequence.prefill(rows);
            events.add(new Event.Progress(total - sequence.pendingRows(), total));
            if (logits != null) {
                prefilled(logits);
            }
        }

        /** The prompt has run; {@code logits} are its last position's. */
        abstract void prefilled(float[] logits);

        final void finish(Object result) {
            finished = true;
            events.add(new Event.Done(result));
        }

        final void fail(Throwable error) {
            if (!finished) {
                finished = true;
                events.add(new Event.Failed(error));
            }
        }
    }

    /** An image's positions, kept for the questions of an {@link ImageSession}. */
    private static final class Keep extends Job {
        Keep(Sequence sequence) {
            super(sequence);
        }

        @Override
        void prefilled(float[] logits) {
            finish(sequence.keep());
        }
    }

    /** One generation: its sampler, its stop rules, the answer so far. */
    private final class Run extends Job {
        private final int maxNew;
        private final SamplingOptions options;
        private final Sampler sampler;
        private final Announcer announcer;
        private final boolean capture;
        private final List<float[]> captured = new ArrayList<>();
        private final int[] tokens;
        private int count;
        /** The token to feed at the next decode step, or -1. */
        int next = -1;
        int decodeSteps;
        private long firstLogits;

        Run(Sequence sequence, int maxNew, SamplingOptions options, List<String> stop, boolean capture) {
            super(sequence);
            this.maxNew = maxNew;
            this.options = options;
            this.sampler = Sampler.create(options);
            this.announcer = new Announcer(events, tokenizer, stop);
            this.capture = capture;
            this.tokens = new int[maxNew];
        }

        @Override
        void prefilled(float[] logits) {
            firstLogits = System.nanoTime();
            accept(logits);
        }

        /** Samples from the logits of the last position: the next token, or the end. */
        void accept(float[] logits) {
            next = -1;
            if (capture) {
                captured.add(logits.clone());
            }
            int token = sampler.sample(logits, config.transformer().realVocabSize());
            if (token == Gpt2Tokenizer.END_OF_TEXT) {
                end(StopReason.END_OF_TEXT);
                return;
            }
            tokens[count++] = token;
            if (announcer.add(token)) {
                end(StopReason.STOP_SEQUENCE);
            } else if (count == maxNew) {
                end(maxNew < options.maxNewTokens() ? StopReason.CONTEXT_FULL : StopReason.MAX_TOKENS);
            } else {
                next = token;
            }
        }

        private void end(StopReason reason) {
            String text = announcer.finish();
            long now = System.nanoTime();
            finish(new Outcome(Arrays.copyOf(tokens, count), text, reason, sequence.prefilled(),
                    Duration.ofNanos(firstLogits - prefillStart), Duration.ofNanos(now - firstLogits), decodeSteps, captured));
        }
    }

    /** The caller's answer: the outcome with its text and the stages before the loop. */
    Generation generation(Outcome outcome, int promptTokens, Duration preprocess, Duration imageEncode,
            Optional<CapturedTensors> tensors) {
        Timings timings = new Timings(preprocess, imageEncode, outcome.prefill(), outcome.decode(), outcome.decodeSteps());
        return new Generation(outcome.text(), outcome.tokens(), promptTokens, outcome.prefillTokens(), outcome.reason(), timings,
                tensors);
    }

    /**
     * Tells each token once (see {@link TokenListener}), with the answer's text cut at the first
     * stop string: text that may be the start of a stop string, or bytes of an unfinished
     * character, wait with the token that brought them until they are known; the last token told
     * carries the text that waited.
     */
    private static final class Announcer {
        private final BlockingQueue<Event> events;
        private final StreamingDecoder decoder;
        private final List<String> stop;
        private final StringBuilder text = new StringBuilder();
        /** Tokens not told yet, in order. */
        private final List<Integer> untold = new ArrayList<>();
        /** Characters of text already told. */
        private int told;
        private boolean stopped;

        Announcer(BlockingQueue<Event> events, Gpt2Tokenizer tokenizer, List<String> stop) {
            this.events = events;
            this.decoder = tokenizer.streamingDecoder();
            this.stop = stop;
        }

        /** @return whether the answer now holds a stop string (the text is cut before it and told) */
        boolean add(int token) {
            untold.add(token);
            text.append(decoder.push(token));
            int at = firstStop();
            if (at >= 0) {
                stopped = true;
                text.setLength(at);
                tell(untold.size(), text.length());
                return true;
            }
            if (!decoder.holdsBack()) {
                int safe = text.length() - stopPrefixAtEnd();
                // A tail that may begin a stop string waits with the last token.
                tell(safe == text.length() ? untold.size() : untold.size() - 1, safe);
            }
            return false;
        }

        /** The answer is complete: every token not told yet is told, the last with the rest of the text. */
        String finish() {
            if (!stopped) {
                text.append(decoder.flush());
            }
            tell(untold.size(), text.length());
            return text.toString();
        }

        private void tell(int tokens, int upTo) {
            for (int i = 0; i < tokens; i++) {
                String piece = i == tokens - 1 ? text.substring(told, Math.max(told, upTo)) : "";
                events.add(new Event.Token(untold.get(i), piece));
            }
            if (tokens > 0) {
                told = Math.max(told, upTo);
                untold.subList(0, tokens).clear();
            }
        }

        private int firstStop() {
            int first = -1;
            for (String s : stop) {
                // Text that could begin a stop string is never told, so a stop string starts after `told`.
                int at = s.isEmpty() ? -1 : text.indexOf(s, told);
                if (at >= 0 && (first < 0 || at < first)) {
                    first = at;
                }
            }
            return first;
        }

        /** The longest end of the text that is the start of a stop string (0: none). */
        private int stopPrefixAtEnd() {
            int longest = 0;
            for (String s : stop) {
                for (int k = Math.min(s.length() - 1, text.length() - told); k > longest; k--) {
                    if (text.substring(text.length() - k).equals(s.substring(0, k))) {
                        longest = k;
                        break;
                    }
                }
            }
            return longest;
        }
    }
}
