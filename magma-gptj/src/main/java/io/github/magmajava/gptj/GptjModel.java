package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.LanguageModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Objects;

/**
 * MAGMA's language model: GPT-J with an adapter after every MLP, run on a {@link Backend}. The
 * caller embeds the prompt ({@link #embed} for text, the image prefix for the image), runs it
 * once against a fresh {@link KvCache}, then feeds one token per step.
 *
 * <p>Execution is phased as in the seed: the embedding, each block and the LM head are separate
 * {@link Phase}s, so a staging backend loads one block's weights at a time.
 *
 * <p>Thread-safe: the weights are immutable after {@link #load}, every call uses its own
 * activation buffers, and the only mutable state is the caller's cache (one per generation).
 */
public final class GptjModel {
    private final MagmaConfig config;
    private final Backend backend;
    private final Tensor wte;
    private final List<GptjBlock> blocks;
    private final float[] lnFWeight;
    private final float[] lnFBias;
    private final Linear lmHead;
    private final Phase embeddingPhase;
    private final Phase headPhase;

    private GptjModel(LanguageModelWeights w, MagmaConfig config, Backend backend) {
        this.config = config;
        this.backend = backend;
        this.wte = w.wte();
        List<GptjBlock> built = new ArrayList<>();
        for (int i = 0; i < w.blocks().size(); i++) {
            built.add(new GptjBlock(i, w.blocks().get(i), config, backend));
        }
        this.blocks = List.copyOf(built);
        this.lnFWeight = w.lnFWeight().toFloatArray();
        this.lnFBias = w.lnFBias().toFloatArray();
        this.lmHead = backend.linear(w.lmHeadWeight(), w.lmHeadBias(), Split.VOCABULARY);
        this.embeddingPhase = new Phase("embedding", List.of(w.wte()));
        this.headPhase = new Phase("lm head", List.of(w.lnFWeight(), w.lnFBias(), w.lmHeadWeight(), w.lmHeadBias()));
    }

    /**
     * Prepares the weights on {@code backend}. The weights must stay readable (their file open)
     * while the model is used.
     *
     * @throws IllegalArgumentException when a tensor's shape does not fit {@code config}, naming it
     */
    public static GptjModel load(LanguageModelWeights w, MagmaConfig config, Backend backend) {
        Objects.requireNonNull(w, "weights");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(backend, "backend");
        checkShapes(w, config);
        checkDevices(config, backend);
        return new GptjModel(w, config, backend);
    }

    public MagmaConfig config() {
        return config;
    }

    /**
     * An empty cache for a generation of at most {@code capacity} positions (image tokens, prompt
     * and generated tokens); it takes {@code 2 * layers * capacity * hiddenSize} floats.
     */
    public KvCache newCache(int capacity) {
        TransformerConfig t = config.transformer();
        if (capacity < 1 || capacity > t.maxPositions()) {
            throw new IllegalArgumentException("KV cache capacity must be between 1 and the model's " + t.maxPositions()
                    + " positions, found " + capacity);
        }
        return new KvCache(t.layers(), backend.devices(), capacity, t.hiddenSize() / backend.devices());
    }

    /**
     * A generation's positions in {@code mode}: {@link SequenceMode#KV_CACHE} keeps a cache of
     * {@code capacity} positions and runs each new token alone; {@link SequenceMode#STATIC} is the
     * seed's, the image and the text padded to the config's sequence length rerun whole for every
     * token.
     */
    public Sequence sequence(SequenceMode mode, int capacity) {
        return switch (mode) {
            case KV_CACHE -> new CachedSequence(this, newCache(capacity));
            case STATIC -> new PaddedSequence(this);
        };
    }

    /**
     * The token embeddings of {@code ids} into {@code out} [ids.length, hiddenSize].
     *
     * @throws IllegalArgumentException for an id without an embedding (negative, or at least
     *                                  {@code realVocabSize}: the LM head's padding rows)
     */
    public void embed(int[] ids, float[] out) {
        TransformerConfig t = config.transformer();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= t.realVocabSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " at index " + i + " has no embedding: ids must be in [0, "
                        + t.realVocabSize() + ")");
            }
        }
        long needed = (long) ids.length * t.hiddenSize();
        if (out.length < needed) {
            throw new IllegalArgumentException("embedding output holds " + out.length + " floats, " + ids.length + " ids need " + needed);
        }
        backend.run(embeddingPhase, () -> {
            backend.embedding(wte, ids, out);
            return null;
        });
    }

    /**
     * Runs {@code rows} new positions, starting at {@code cache.length()}, and appends their keys
     * and values to the cache. The input is [rows, hiddenSize] embeddings: the whole prompt at the
     * first step ([image embeddings ; text embeddings]), one token's embedding per later step.
     *
     * @return the logits [vocabSize] of the last row only; ids at or above {@code realVocabSize}
     *         are LM-head padding and must not be sampled
     * @throws IllegalStateException    when the cache has no room for {@code rows} more positions
     *                                  (nothing is run and the cache is unchanged)
     * @throws IllegalArgumentException when rows, the input length or the cache do not fit the model
     */
    public float[] forward(float[] inputEmbeddings, int rows, KvCache cache) {
        checkRows(inputEmbeddings, rows, cache);
        float[] x = hiddenStates(inputEmbeddings, rows, cache, newWorkspace(rows));
        return backend.run(headPhase, () -> logitsOfRow(x, rows - 1));
    }

    /**
     * Runs {@code rows} new positions as {@link #forward} does, without the LM head: a chunk of a
     * prompt whose last position comes later.
     */
    void advance(float[] inputEmbeddings, int rows, KvCache cache) {
        checkRows(inputEmbeddings, rows, cache);
        hiddenStates(inputEmbeddings, Positions.of(cache, rows), newWorkspace(rows));
    }

    /**
     * One decode step of several generations at once: {@code tokens[i]} is appended to
     * {@code caches[i]}, and its logits [vocabSize] are {@code logits[i]}. The weights are read
     * once for every {@link Backend#independentRows()} generations, and each row is computed as it
     * would be alone: every logit equals, bit for bit, what {@link #forward} gives for that token's
     * embedding and cache, whichever generations share the step.
     *
     * @throws IllegalStateException    when a cache is full (nothing is run)
     * @throws IllegalArgumentException when the lengths differ, a cache appears twice or does not
     *                                  fit the model, or a token has no embedding
     */
    public float[][] decode(int[] tokens, KvCache[] caches) {
        if (tokens.length != caches.length) {
            throw new IllegalArgumentException(tokens.length + " tokens for " + caches.length + " caches");
        }
        int d = config.transformer().hiddenSize();
        Set<KvCache> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        for (KvCache cache : caches) {
            checkCache(cache, 1);
            if (!distinct.add(cache)) {
                throw new IllegalArgumentException("a decode step cannot advance one KV cache twice");
            }
        }
        float[] embedded = new float[tokens.length * d];
        embed(tokens, embedded);
        float[][] logits = new float[tokens.length][];
        int group = Math.max(1, Math.min(backend.independentRows(), tokens.length));
        Workspace ws = newWorkspace(group);
        for (int from = 0; from < tokens.length; from += group) {
            int rows = Math.min(group, tokens.length - from);
            Positions at = Positions.each(Arrays.copyOfRange(caches, from, from + rows));
            float[] x = hiddenStates(Arrays.copyOfRange(embedded, from * d, (from + rows) * d), at, ws);
            float[][] part = backend.run(headPhase, () -> logitsOfRows(x, rows));
            System.arraycopy(part, 0, logits, from, rows);
        }
        return logits;
    }

    /**
     * Runs {@code rows} positions from position 0 with no cache kept (the seed's static sequence
     * mode) and returns the logits [vocabSize] of row {@code row}: causal attention makes them
     * independent of the rows after it.
     */
    public float[] forwardFromStart(float[] inputEmbeddings, int rows, int row) {
        if (row < 0 || row >= rows) {
            throw new IllegalArgumentException("row " + row + " is not one of the " + rows + " rows run");
        }
        KvCache positions = newCache(rows);
        float[] x = hiddenStates(inputEmbeddings, rows, positions, newWorkspace(rows));
        return backend.run(headPhase, () -> logitsOfRow(x, row));
    }

    /**
     * Runs {@code rows} positions from position 0 (an image's embeddings) into a cache of exactly
     * those positions, frozen: the prefix every {@link #continueFrom} reads in place. No logits.
     */
    public KvCache keep(float[] inputEmbeddings, int rows) {
        KvCache kept = newCache(rows);
        hiddenStates(inputEmbeddings, rows, kept, newWorkspace(rows));
        return kept.freeze();
    }

    /**
     * A {@link SequenceMode#KV_CACHE} sequence after {@code kept}'s positions, {@code capacity} in
     * all: its {@code start} takes no image rows, only the new text.
     */
    public Sequence continueFrom(KvCache kept, int capacity) {
        if (capacity > config.transformer().maxPositions()) {
            throw new IllegalArgumentException("KV cache capacity must be at most the model's " + config.transformer().maxPositions()
                    + " positions, found " + capacity);
        }
        return new CachedSequence(this, kept.extend(capacity));
    }

    /** Buffers for one forward call of {@code rows} rows on this model's backend. */
    Workspace newWorkspace(int rows) {
        return new Workspace(rows, config, backend.devices());
    }

    /** Block {@code i}, for parity tests of its parts. */
    GptjBlock block(int i) {
        return blocks.get(i);
    }

    /** The residual stream after the last block [rows, d] (before ln_f); advances the cache. */
    float[] hiddenStates(float[] inputEmbeddings, int rows, KvCache cache, Workspace ws) {
        checkRows(inputEmbeddings, rows, cache);
        return hiddenStates(inputEmbeddings, Positions.of(cache, rows), ws);
    }

    private float[] hiddenStates(float[] inputEmbeddings, Positions at, Workspace ws) {
        int rows = at.rows();
        if (ws.rows < rows) {
            throw new IllegalArgumentException("workspace for " + ws.rows + " rows cannot run " + rows);
        }
        float[] x = Arrays.copyOf(inputEmbeddings, rows * config.transformer().hiddenSize());
        for (GptjBlock block : blocks) {
            backend.run(block.phase(), () -> {
                block.forward(x, at, ws);
                return null;
            });
        }
        at.advance();
        return x;
    }

    /** ln_f, row-wise, of x [rows, d] into out. */
    void finalNorm(float[] x, int rows, float[] out) {
        backend.layerNorm(x, rows, config.transformer().hiddenSize(), lnFWeight, lnFBias, GptjBlock.LAYER_NORM_EPS, out);
    }

    /** The logits [rows][vocabSize] of every row of x [rows, d]; rows at most {@link Backend#independentRows()}. */
    private float[][] logitsOfRows(float[] x, int rows) {
        int d = config.transformer().hiddenSize();
        int vocab = config.transformer().vocabSize();
        float[] normed = new float[rows * d];
        finalNorm(x, rows, normed);
        float[] all = new float[rows * vocab];
        lmHead.forward(normed, rows, all);
        float[][] logits = new float[rows][];
        for (int r = 0; r < rows; r++) {
            logits[r] = Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab);
        }
        return logits;
    }

    private float[] logitsOfRow(float[] x, int row) {
        int d = config.transformer().hiddenSize();
        return logitsOfRows(Arrays.copyOfRange(x, row * d, (row + 1) * d), 1)[0];
    }

    private void checkRows(float[] inputEmbeddings, int rows, KvCache cache) {
        checkCache(cache, rows);
        TransformerConfig t = config.transformer();
        if (inputEmbeddings.length < (long) rows * t.hiddenSize()) {
            throw new IllegalArgumentException("input embeddings hold " + inputEmbeddings.length + " floats, " + rows + " rows of "
                    + t.hiddenSize() + " need " + (long) rows * t.hiddenSize());
        }
    }

    private void checkCache(KvCache cache, int rows) {
        TransformerConfig t = config.transformer();
        if (cache.layers() != t.layers() || cache.devices() != backend.devices()
                || cache.width() != t.hiddenSize() / backend.devices()) {
            throw new IllegalArgumentException("the KV cache was made for another model (" + cache.layers() + " layers x "
                    + cache.devices() + " devices x " + cache.width() + ", this one has " + t.layers() + " x "
                    + backend.devices() + " x " + t.hiddenSize() / backend.devices() + ")");
        }
        if (rows < 1) {
            throw new IllegalArgumentException("rows must be >= 1, found " + rows);
        }
        cache.checkRoom(rows);
    }

    /** The backend's devices must split heads, MLP and adapter into equal whole parts. */
    private static void checkDevices(MagmaConfig config, Backend backend) {
        int devices = backend.devices();
        TransformerConfig t = config.transformer();
        int bottleneck = t.hiddenSize() / config.adapter().downsampleFactor();
        if (devices < 1 || t.heads() % devices != 0 || t.mlpSize() % devices != 0 || bottleneck % devices != 0) {
            throw new IllegalArgumentException("backend " + backend.name() + " runs on " + devices + " devices, which must divide"
                    + " the " + t.heads() + " heads, the MLP's " + t.mlpSize() + " and the adapter's " + bottleneck
                    + " hidden units of config '" + config.name() + "'");
        }
    }

    private static void checkShapes(LanguageModelWeights w, MagmaConfig config) {
        TransformerConfig t = config.transformer();
        long d = t.hiddenSize();
        long mlp = t.mlpSize();
        long bottleneck = d / config.adapter().downsampleFactor();
        if (w.blocks().size() != t.layers()) {
            throw new IllegalArgumentException("config '" + config.name() + "' has " + t.layers() + " layers, the weights have "
                    + w.blocks().size() + " blocks");
        }
        requireShape(w.wte(), t.realVocabSize(), d);
        for (BlockWeights b : w.blocks()) {
            requireShape(b.ln1Weight(), d);
            requireShape(b.ln1Bias(), d);
            for (Tensor p : List.of(b.qProj(), b.kProj(), b.vProj(), b.outProj())) {
                requireLinear(p, d, d);
            }
            requireLinear(b.fcWeight(), mlp, d);
            requireShape(b.fcBias(), mlp);
            requireLinear(b.projWeight(), d, mlp);
            requireShape(b.projBias(), d);
            requireLinear(b.adapterDownWeight(), bottleneck, d);
            requireShape(b.adapterDownBias(), bottleneck);
            requireLinear(b.adapterUpWeight(), d, bottleneck);
            requireShape(b.adapterUpBias(), d);
        }
        requireShape(w.lnFWeight(), d);
        requireShape(w.lnFBias(), d);
        requireLinear(w.lmHeadWeight(), t.vocabSize(), d);
        requireShape(w.lmHeadBias(), t.vocabSize());
    }

    private static void requireShape(Tensor t, long... shape) {
        require(t, false, shape);
    }

    /**
     * A weight only {@link Backend#linear} reads: float, or the int8 values a file made by
     * {@code magma convert --weights q8} holds in its place (MagmaWeights.bind with the embedded
     * int8 weights), which the backend replaces by name and otherwise refuses.
     */
    private static void requireLinear(Tensor t, long... shape) {
        require(t, true, shape);
    }

    private static void require(Tensor t, boolean int8, long... shape) {
        if (t == null) {
            throw new IllegalArgumentException("missing tensor, expected shape " + Arrays.toString(shape));
        }
        if (!t.hasShape(shape) || !(t.dtype().isFloatingPoint() || (int8 && t.dtype() == DType.INT8))) {
            throw new IllegalArgumentException("tensor " + t.name() + " is " + t.describe() + ", the model needs a float tensor "
                    + Arrays.toString(shape));
        }
    }
}
