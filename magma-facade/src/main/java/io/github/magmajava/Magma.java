package io.github.magmajava;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.BackendContext;
import io.github.magmajava.backend.BackendFactory;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.download.DownloadCache;
import io.github.magmajava.download.DownloadOptions;
import io.github.magmajava.gptj.GptjModel;
import io.github.magmajava.gptj.KvCache;
import io.github.magmajava.gptj.Sequence;
import io.github.magmajava.image.ClipPreprocessor;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Weights;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.text.Gpt2Tokenizer;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;

/**
 * MAGMA: an image and a prompt in, text out.
 *
 * <pre>{@code
 * try (Magma magma = Magma.load(Path.of("mp_rank_00_model_states.pt"))) {
 *     String caption = magma.generate(Path.of("woods_hi.jpg"), "Describe the painting:").text();
 * }
 * }</pre>
 *
 * A loaded model is immutable and thread-safe: concurrent {@code generate} calls each get their
 * own KV cache and buffers. The checkpoint stays memory-mapped until {@link #close()}.
 */
public final class Magma implements AutoCloseable {
    private final TensorFile checkpoint;
    private final MagmaConfig config;
    private final Backend backend;
    private final boolean ownsBackend;
    /** The int8 weights the backend reads ({@link WeightFormat#Q8}), or null. */
    private final Q8Weights quantized;
    private final ImagePrefix imagePrefix;
    private final GptjModel languageModel;
    private final Gpt2Tokenizer tokenizer;
    private final ClipPreprocessor preprocessor;
    private final SequenceMode sequenceMode;
    private final GenerationLoop loop;
    private final Duration loadTime;
    private volatile boolean closed;

    private Magma(Builder b) throws IOException {
        long start = System.nanoTime();
        TensorFile file = TensorFiles.open(b.checkpoint);
        Backend created = null;
        Q8Weights q8 = null;
        ImagePrefix prefix = null;
        try {
            this.config = b.config != null ? b.config : MagmaWeights.detectConfig(file).orElseThrow(
                    () -> new CheckpointException(b.checkpoint, "its shapes match no preset (" + MagmaConfig.presetNames()
                            + "); give the model config explicitly"));
            // A file made by `magma convert --weights q8` holds its int8 weights itself (docs/convert.md).
            q8 = Q8Weights.embedded(file).orElse(null);
            if (q8 != null && (b.format == WeightFormat.FP16 || b.backend != null)) {
                throw new CheckpointException(b.checkpoint, "holds int8 weights (converted with --weights q8), which "
                        + (b.backend != null ? "only the built-in backend or one made by backend(factory) reads, not backend("
                        + b.backend.name() + ")"
                        : "cannot be read as fp16; leave weights unset, or convert the original checkpoint with --weights fp16"));
            }
            WeightFormat format = q8 != null ? WeightFormat.Q8 : Objects.requireNonNullElse(b.format, WeightFormat.FP16);
            MagmaWeights weights = MagmaWeights.bind(file, config, q8);
            if (q8 == null && format == WeightFormat.Q8) {
                q8 = Q8Cache.open(b.checkpoint, Q8Cache.linearWeights(weights.languageModel()),
                        b.cacheDirectory != null ? b.cacheDirectory : CacheDirectory.resolve());
            }
            if (b.backend == null) {
                BackendFactory factory = b.factory != null ? b.factory : CpuBackend::create;
                created = factory.create(new BackendContext(config, format, Optional.ofNullable(q8), b.sequenceMode, b.threads,
                        b.precision));
            }
            this.backend = b.backend != null ? b.backend : created;
            this.ownsBackend = created != null;
            prefix = ImagePrefix.load(weights.imagePrefix(), config, backend);
            this.imagePrefix = prefix;
            this.languageModel = GptjModel.load(weights.languageModel(), config, backend);
            this.tokenizer = Gpt2Tokenizer.load();
            this.preprocessor = ClipPreprocessor.of(config.visual().imageResolution());
            this.checkpoint = file;
            this.quantized = q8;
            this.sequenceMode = b.sequenceMode;
            this.loop = new GenerationLoop(tokenizer, config, b.batchSize, b.prefillChunk);
        } catch (IOException | RuntimeException e) {
            if (prefix != null) {
                prefix.close();
            }
            if (created != null) {
                created.close();
            }
            if (q8 != null) {
                q8.close();
            }
            file.close();
            throw e;
        }
        this.loadTime = Duration.ofNanos(System.nanoTime() - start);
    }

    /** The most threads {@link Builder#threads} takes: {@link CpuBackend#maxThreads()}, 4 per available processor. */
    public static int maxThreads() {
        return CpuBackend.maxThreads();
    }

    /** Loads a checkpoint whose shapes match a preset ({@code magma_v1_1024} for the public one). */
    public static Magma load(Path checkpoint) throws IOException {
        return builder(checkpoint).load();
    }

    /**
     * Loads the checkpoint at {@code url}, downloaded into the cache directory on first use
     * (resumable and verified, docs/download.md) and found there afterwards without a request;
     * {@code URI.create(Downloader.OFFICIAL_CHECKPOINT)} is the official one.
     */
    public static Magma load(URI url) throws IOException {
        return load(DownloadCache.fetch(url, DownloadOptions.defaults()));
    }

    public static Magma load(Path checkpoint, MagmaConfig config) throws IOException {
        return builder(checkpoint).config(config).load();
    }

    public static Builder builder(Path checkpoint) {
        return new Builder(checkpoint);
    }

    public MagmaConfig config() {
        return config;
    }

    public Gpt2Tokenizer tokenizer() {
        return tokenizer;
    }

    /** How long {@link #load} took: mapping, binding and validating, preparing the encoder. */
    public Duration loadTime() {
        return loadTime;
    }

    /** With the default sampling options. */
    public Generation generate(Path image, String prompt) throws IOException {
        return generate(GenerationRequest.of(image, prompt), TokenListener.NONE);
    }

    public Generation generate(Path image, String prompt, SamplingOptions options) throws IOException {
        return generate(GenerationRequest.of(image, prompt).withOptions(options), TokenListener.NONE);
    }

    /**
     * Generates, telling {@code listener} each token as soon as it is sampled.
     *
     * @throws IllegalArgumentException when the prompt does not fit the context
     * @throws IOException              when the image cannot be read
     */
    public Generation generate(GenerationRequest request, TokenListener listener) throws IOException {
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        SamplingOptions options = request.options();
        long t0 = System.nanoTime();
        PreprocessedImage image = request.image().load(preprocessor);
        int[] promptIds = tokenizer.encode(request.prompt());
        int maxNew = newTokenBudget(promptIds.length, options.maxNewTokens());
        long t1 = System.nanoTime();

        int d = config.transformer().hiddenSize();
        int imageTokens = config.visual().imageTokens();
        float[] embeddings = encode(image, listener);
        long t2 = System.nanoTime();

        Sequence sequence = languageModel.sequence(sequenceMode, imageTokens + promptIds.length + maxNew);
        GenerationLoop.Outcome outcome = loop.run(sequence, embeddings, imageTokens, promptIds, maxNew, options, request.stop(),
                request.captureTensors(), listener);
        Optional<CapturedTensors> tensors = request.captureTensors()
                ? Optional.of(new CapturedTensors(image.size(), image.pixels(), imageTokens, d, embeddings, outcome.logits()))
                : Optional.empty();
        return loop.generation(outcome, promptIds.length, Duration.ofNanos(t1 - t0), Duration.ofNanos(t2 - t1), tensors);
    }

    /**
     * Starts {@code request} on a (virtual) thread of its own and returns at once: the future's
     * {@code get} gives the answer, its {@code cancel(true)} stops the generation at its next step,
     * which frees its place among the running generations and its KV cache (the thread is
     * interrupted, as with {@link #generate}). The listener is told each token on that thread.
     *
     * @throws IllegalStateException when the model is closed
     */
    public Future<Generation> submit(GenerationRequest request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        FutureTask<Generation> task = new FutureTask<>(() -> generate(request, listener));
        Thread.ofVirtual().name("magma-submitted").start(task);
        return task;
    }

    /**
     * The image prefix MAGMA feeds the language model: {@code imageTokens x hiddenSize} embeddings
     * (CLIP RN50x16 without its attention pool, the projection, LayerNorm), row-major; what
     * {@link CapturedTensors#imageEmbeddings()} holds. Runs on the caller's thread, beside any
     * generations.
     *
     * @throws IOException when the image cannot be read
     */
    public float[] encodeImage(ImageInput image) throws IOException {
        checkOpen();
        return imagePrefix.encode(image.load(preprocessor).pixels());
    }

    /**
     * A session on {@code image}: its positions are computed once, by the first question, and
     * kept for the others ({@link ImageSession#ask}), which prefill only their own tokens.
     *
     * @throws IOException when the image cannot be read (checked now, before any question)
     */
    public ImageSession session(ImageInput image) throws IOException {
        checkOpen();
        long t0 = System.nanoTime();
        PreprocessedImage pixels = image.load(preprocessor);
        return new ImageSession(this, pixels, Duration.ofNanos(System.nanoTime() - t0));
    }

    public ImageSession session(Path image) throws IOException {
        return session(ImageInput.file(image));
    }

    /** The image's embeddings and, in the kv-cache sequence mode, its positions run into a frozen cache. */
    ImageSession.Prefix imagePrefix(PreprocessedImage pixels, TokenListener listener) {
        long t0 = System.nanoTime();
        float[] embeddings = encode(pixels, listener);
        long t1 = System.nanoTime();
        // In the static sequence mode nothing is cached: each question reruns the image's positions.
        int imageTokens = config.visual().imageTokens();
        KvCache kept = sequenceMode == SequenceMode.KV_CACHE
                ? loop.keep(languageModel.sequence(SequenceMode.KV_CACHE, imageTokens), embeddings, imageTokens, listener) : null;
        return new ImageSession.Prefix(embeddings, kept, Duration.ofNanos(t1 - t0), Duration.ofNanos(System.nanoTime() - t1));
    }

    /**
     * One question on a session: the loop after its kept positions (static mode: after its
     * embeddings). The question that made the prefix reports its cost: the encode, the image's
     * positions in its prefill time and tokens.
     */
    Generation ask(ImageSession session, String prompt, SamplingOptions options, List<String> stop, TokenListener listener,
            boolean capture) {
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        long t0 = System.nanoTime();
        int[] promptIds = tokenizer.encode(prompt);
        int maxNew = newTokenBudget(promptIds.length, options.maxNewTokens());
        long t1 = System.nanoTime();
        ImageSession.Made made = session.prefix(listener);
        ImageSession.Prefix prefix = made.prefix();
        int imageTokens = config.visual().imageTokens();
        GenerationLoop.Outcome outcome;
        if (prefix.kept() != null) {
            Sequence sequence = languageModel.continueFrom(prefix.kept(), imageTokens + promptIds.length + maxNew);
            outcome = loop.run(sequence, new float[0], 0, promptIds, maxNew, options, stop, capture, listener);
            if (made.now()) {
                outcome = outcome.afterImage(imageTokens, prefix.imagePrefill());
            }
        } else {
            Sequence sequence = languageModel.sequence(sequenceMode, imageTokens + promptIds.length + maxNew);
            outcome = loop.run(sequence, prefix.embeddings(), imageTokens, promptIds, maxNew, options, stop, capture, listener);
        }
        Optional<CapturedTensors> tensors = capture ? Optional.of(new CapturedTensors(0, new float[0], imageTokens,
                config.transformer().hiddenSize(), prefix.embeddings(), outcome.logits())) : Optional.empty();
        Duration preprocess = Duration.ofNanos(t1 - t0).plus(made.now() ? session.preprocessTime() : Duration.ZERO);
        return loop.generation(outcome, promptIds.length, preprocess, made.now() ? prefix.encode() : Duration.ZERO, tensors);
    }

    /** The image's embeddings, the listener told before and after. */
    private float[] encode(PreprocessedImage image, TokenListener listener) {
        listener.onProgress(TokenListener.Stage.ENCODING_IMAGE, 0, 1);
        float[] embeddings = imagePrefix.encode(image.pixels());
        listener.onProgress(TokenListener.Stage.ENCODING_IMAGE, 1, 1);
        return embeddings;
    }

    /**
     * Refuses work after {@link #close()}: the weights are unmapped then. (A call already past this
     * check ends with the scheduler's "closed" error, its steps being run on the scheduling thread,
     * which close waits for.)
     */
    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the model is closed");
        }
    }

    /**
     * New tokens that fit after the prompt: within the config's text budget (the seed's
     * sequence length, 500 or 1024) and the context (maxPositions, image tokens included).
     */
    private int newTokenBudget(int promptTokens, int wanted) {
        int textBudget = Math.min(config.transformer().sequenceLength(), config.textPositions());
        if (promptTokens >= textBudget) {
            throw new IllegalArgumentException("the prompt has " + promptTokens + " tokens; config '" + config.name()
                    + "' leaves room for at most " + (textBudget - 1) + " prompt tokens (text budget " + textBudget
                    + " after " + config.visual().imageTokens() + " image tokens), so nothing could be generated");
        }
        return Math.min(wanted, textBudget - promptTokens);
    }

    /**
     * Generations running now, and generations waiting for a place among them
     * ({@link Builder#batchSize}): a server's queue depth.
     */
    public Workload workload() {
        return loop.workload();
    }

    /** What the model is doing: generations advancing together, and generations waiting their turn. */
    public record Workload(int running, int waiting) {
    }

    /**
     * Ends the generations still in flight (their callers get an {@link IllegalStateException}),
     * stops the scheduling thread, unmaps the checkpoint (and the int8 cache) and stops the
     * backend's threads (unless the backend was given).
     */
    @Override
    public void close() {
        closed = true;
        loop.close();
        try {
            imagePrefix.close();
            if (ownsBackend) {
                backend.close();
            }
        } finally {
            try {
                if (quantized != null) {
                    quantized.close();
                }
            } finally {
                checkpoint.close();
            }
        }
    }

    /** Generations sharing decode steps unless {@link Builder#batchSize} says otherwise. */
    public static final int DEFAULT_BATCH_SIZE = 8;

    /** Optional settings for {@link Magma#load}. */
    public static final class Builder {
        private final Path checkpoint;
        private MagmaConfig config;
        private Backend backend;
        private BackendFactory factory;
        private int threads;
        /** Null: fp16, or q8 for a file that holds int8 weights. */
        private WeightFormat format;
        private Path cacheDirectory;
        private Precision precision = Precision.EXACT;
        private SequenceMode sequenceMode = SequenceMode.KV_CACHE;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int prefillChunk = Integer.MAX_VALUE;

        private Builder(Path checkpoint) {
            this.checkpoint = Objects.requireNonNull(checkpoint, "checkpoint");
        }

        /** The model config; default: the one a converted file's metadata holds, else the preset whose shapes the checkpoint has. */
        public Builder config(MagmaConfig modelConfig) {
            this.config = Objects.requireNonNull(modelConfig, "config");
            return this;
        }

        /** A backend to run on; the caller keeps ownership. Default: a new {@link CpuBackend}. */
        public Builder backend(Backend compute) {
            this.backend = Objects.requireNonNull(compute, "backend");
            this.factory = null;
            return this;
        }

        /**
         * Makes the backend once the config and weights are known, with this builder's
         * {@link #weights}, {@link #threads}, {@link #precision} and {@link #sequenceMode} (e.g.
         * {@code IpuBackend.factory(options)}); the model owns and closes it. Default:
         * {@code CpuBackend::create}.
         */
        public Builder backend(BackendFactory backendFactory) {
            this.factory = Objects.requireNonNull(backendFactory, "backend factory");
            this.backend = null;
            return this;
        }

        /**
         * Worker threads of the built-in CPU backend, oneDNN's included (default: one per available
         * processor). Cannot be combined with {@link #backend}.
         *
         * @throws IllegalArgumentException when {@code count} is not from 1 to {@link #maxThreads()}
         */
        public Builder threads(int count) {
            this.threads = CpuBackend.checkThreads(count);
            return this;
        }

        /**
         * How the language model's Linear weights are read (default {@link WeightFormat#FP16}, as
         * stored). {@link WeightFormat#Q8}: int8 blocks, about half the bytes per decoded token,
         * made from the checkpoint on the first load and cached (about a minute and 6.5 GB of disk
         * for the full model), mapped on later loads; runs on the built-in CPU backend, so it
         * cannot be combined with {@link #backend}. See docs/quantization.md. A file made by
         * {@code magma convert --weights q8} holds its int8 weights and is read as Q8 when this is
         * not set; FP16 is refused for it (docs/convert.md).
         */
        public Builder weights(WeightFormat weightFormat) {
            this.format = Objects.requireNonNull(weightFormat, "weights");
            return this;
        }

        /** Where derived files (the int8 cache) are kept; default {@link CacheDirectory#resolve()}. */
        public Builder cacheDirectory(Path directory) {
            this.cacheDirectory = Objects.requireNonNull(directory, "cacheDirectory");
            return this;
        }

        /**
         * How closely the model follows PyTorch float32 (default {@link Precision#EXACT}, within
         * float rounding of it). {@link Precision#FAST} runs the image encoder and the prompt's GEMMs
         * in bfloat16, about twice as fast a first token, embeddings and logits off by a few
         * thousandths of their range on the tiny fixtures (PrecisionAccuracyTest, docs/performance.md "Precision"). A backend given by
         * {@link #backend} computes as it does; a factory's backend is asked for this precision
         * and may refuse it.
         */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /**
         * How each generation feeds the model (default {@link SequenceMode#KV_CACHE}).
         * {@link SequenceMode#STATIC} is the seed's: no cache, the padded sequence rerun for every
         * token; the same tokens, for comparing with it and with fixed-shape device runtimes.
         */
        public Builder sequenceMode(SequenceMode mode) {
            this.sequenceMode = Objects.requireNonNull(mode, "sequenceMode");
            return this;
        }

        /**
         * Generations that advance together, sharing each decode step's pass over the weights
         * (default {@value #DEFAULT_BATCH_SIZE}); more wait their turn. Calls from several threads
         * ({@code generate}, {@code ask}) are batched this way; each answer is the one it gets
         * alone.
         *
         * @throws IllegalArgumentException when {@code size} is below 1
         */
        public Builder batchSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, found " + size);
            }
            this.batchSize = size;
            return this;
        }

        /**
         * Prompt positions a generation runs per scheduling turn (default: the whole prompt at
         * once, the fastest for one generation alone). A service where other generations are
         * decoding sets a few dozen at most ({@code magma serve}: 16), so a new prompt holds
         * their next tokens up only that long; chunked and whole prompts give the same tokens,
         * their logits equal within float rounding. The chunks are the same whatever else runs,
         * so a generation's answer still does not depend on the others.
         *
         * @throws IllegalArgumentException when {@code rows} is below 1
         */
        public Builder prefillChunk(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("prefill chunk must be >= 1 positions, found " + rows);
            }
            this.prefillChunk = rows;
            return this;
        }

        /**
         * @throws IllegalStateException when {@link WeightFormat#Q8}, {@link #threads} or
         *     {@link #precision}, which configure the built-in CPU backend, is combined with a given
         *     backend (rather than silently ignored)
         */
        public Magma load() throws IOException {
            if (backend != null) {
                String builtInOnly = format == WeightFormat.Q8 ? "weights(Q8)"
                        : threads > 0 ? "threads(" + threads + ")"
                        : precision != Precision.EXACT ? "precision(" + precision + ")" : null;
                if (builtInOnly != null) {
                    throw new IllegalStateException(builtInOnly + " configures the built-in CPU backend; do not combine it"
                            + " with backend(" + backend.name() + ")");
                }
            }
            return new Magma(this);
        }
    }
}
