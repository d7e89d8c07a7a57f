package io.github.magmajava.ipu;

import io.github.magmajava.backend.Split;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.weights.MagmaWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Lays a model out on N devices as the seed does, from its config alone (no checkpoint needed):
 * phases (image prefix, embedding, one per block, LM head), the shard of every tensor each device
 * holds, and the bytes each device needs per phase.
 *
 * <p>The layout: q, k, v, c_fc and the adapter's down projection split by output columns (each
 * device whole heads, its slice of the MLP and adapter), out_proj, c_proj and the adapter's up
 * projection by input rows (partial sums, their bias on device 0), embedding and LM head by
 * vocabulary (the padded {@code vocabSize / N} ids each), LayerNorms replicated. The image prefix
 * runs on device 0 alone: one image has nothing to split, and the seed's replicas compute the same
 * thing four times. Activations are float32, as the host computes them; weights as stored (float16)
 * or as the int8 cache holds them.
 */
public final class Planner {
    private static final long FLOAT = 4;
    private static final long HALF = 2;

    private Planner() {
    }

    /**
     * @throws IllegalArgumentException when the devices do not divide the heads (naming the counts
     *                                  that do), the MLP or the adapter, or the static sequence does
     *                                  not fit the context
     */
    public static ExecutionPlan plan(MagmaConfig config, IpuOptions options, WeightFormat weights, SequenceMode mode) {
        return new Layout(config, options, weights, mode).plan();
    }

    /** The names of the Linear weights {@code --weights q8} replaces (Q8Cache.linearWeights, by name). */
    static boolean quantizable(String name) {
        return name.startsWith("lm.transformer.h.") && name.endsWith(".weight") && !name.contains(".ln_1.")
                || name.equals("lm.lm_head.weight");
    }

    private static final class Layout {
        private final MagmaConfig config;
        private final IpuOptions options;
        private final WeightFormat weights;
        private final SequenceMode mode;
        private final int n;
        private final Map<String, long[]> shapes;
        private final Map<String, Split> splits = new LinkedHashMap<>();
        private final int rows;
        private long remote;

        Layout(MagmaConfig config, IpuOptions options, WeightFormat weights, SequenceMode mode) {
            this.config = config;
            this.options = options;
            this.weights = weights;
            this.mode = mode;
            this.n = options.devices();
            TransformerConfig t = config.transformer();
            int bottleneck = t.hiddenSize() / config.adapter().downsampleFactor();
            if (t.heads() % n != 0) {
                String fits = IntStream.rangeClosed(1, t.heads()).filter(k -> t.heads() % k == 0).mapToObj(Integer::toString)
                        .collect(Collectors.joining(", "));
                throw new IllegalArgumentException(n + " devices do not divide the " + t.heads() + " attention heads of config '"
                        + config.name() + "': use " + fits);
            }
            if (t.mlpSize() % n != 0 || bottleneck % n != 0) {
                throw new IllegalArgumentException(n + " devices do not divide the MLP's " + t.mlpSize() + " or the adapter's "
                        + bottleneck + " hidden units of config '" + config.name() + "'");
            }
            int text = Math.min(t.sequenceLength(), config.textPositions());
            if (mode == SequenceMode.STATIC && t.sequenceLength() > config.textPositions()) {
                throw new IllegalArgumentException("static sequence mode runs " + config.visual().imageTokens() + " image tokens + "
                        + t.sequenceLength() + " text positions, more than config '" + config.name() + "''s "
                        + t.maxPositions() + " positions");
            }
            this.rows = config.visual().imageTokens() + text;
            this.shapes = MagmaWeights.expectedShapes(config);
        }

        ExecutionPlan plan() {
            TransformerConfig t = config.transformer();
            List<PhasePlan> phases = new ArrayList<>();
            phases.add(imagePrefix());
            phases.add(embedding());
            for (int layer = 0; layer < t.layers(); layer++) {
                phases.add(block(layer));
            }
            phases.add(lmHead());
            long d = t.hiddenSize();
            if (mode == SequenceMode.KV_CACHE) {
                remote += t.layers() * 2L * rows * d * FLOAT;
            }
            // Between phases: the residual stream, the image embeddings, the joined logits.
            remote += (rows * d + (long) config.visual().imageTokens() * d + t.vocabSize()) * FLOAT;
            return new ExecutionPlan(config.name(), options, weights, mode, rows, phases, splits, remote);
        }

        private PhasePlan imagePrefix() {
            List<Shard> shards = new ArrayList<>();
            for (var e : shapes.entrySet()) {
                long[] shape = e.getValue();
                if (e.getKey().startsWith("image_prefix.enc.") && shape.length == 4) {
                    long bytes = (numel(shape) + shape[0]) * FLOAT; // folded weight and its bias
                    shards.add(new Shard(e.getKey(), 0, Split.REPLICATED, Range.all(shape[0]), Range.all(numel(shape) / shape[0]),
                            StagedFormat.FLOAT32, bytes));
                    remote += bytes;
                }
            }
            shards.add(matrix("image_prefix.proj.weight", 0, Split.REPLICATED, false));
            for (String v : List.of("image_prefix.proj.bias", "image_prefix.ln.weight", "image_prefix.ln.bias")) {
                shards.add(vector(v, 0, Split.REPLICATED));
            }
            long[] activations = new long[n];
            VisualConfig v = config.visual();
            long d = config.transformer().hiddenSize();
            activations[0] = (encoderPeakFloats(v) + v.imageTokens() * (v.outputChannels() + d)) * FLOAT;
            return new PhasePlan("image prefix", false, shards, activations, new long[n], 0);
        }

        private PhasePlan embedding() {
            List<Shard> shards = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                shards.add(matrix("lm.transformer.wte.weight", s, Split.VOCABULARY, false));
            }
            // Each device's partial sum of the text's embeddings: at most the text positions a
            // generation runs (the sequence length, or fewer where the context ends first).
            long text = rows - config.visual().imageTokens();
            long[] activations = new long[n];
            java.util.Arrays.fill(activations, text * config.transformer().hiddenSize() * FLOAT);
            return new PhasePlan("embedding", true, shards, activations, new long[n], n > 1 ? 1 : 0);
        }

        private PhasePlan block(int layer) {
            TransformerConfig t = config.transformer();
            String p = "lm.transformer.h." + layer + ".";
            String a = p + "attn.attention.";
            List<Shard> shards = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                shards.add(vector(p + "ln_1.weight", s, Split.REPLICATED));
                shards.add(vector(p + "ln_1.bias", s, Split.REPLICATED));
                for (String q : List.of("q_proj", "k_proj", "v_proj")) {
                    shards.add(matrix(a + q + ".weight", s, Split.OUTPUT_COLUMNS, true));
                }
                shards.add(matrix(a + "out_proj.weight", s, Split.INPUT_ROWS, true));
                linearWithBias(shards, p + "mlp.0.c_fc", s, Split.OUTPUT_COLUMNS);
                linearWithBias(shards, p + "mlp.0.c_proj", s, Split.INPUT_ROWS);
                linearWithBias(shards, p + "mlp.1.adapter.0", s, Split.OUTPUT_COLUMNS);
                linearWithBias(shards, p + "mlp.1.adapter.2", s, Split.INPUT_ROWS);
            }
            long d = t.hiddenSize();
            long local = d / n;
            long bottleneck = d / config.adapter().downsampleFactor();
            // x and ln_1(x) whole; q, k, v, context of its heads; the partial sums of attention, MLP
            // and adapter; its columns of c_fc and of the adapter.
            long floats = rows * (5 * d + 4 * local + t.mlpSize() / n + bottleneck / n);
            long kv = 2L * rows * local * FLOAT;
            long[] activations = new long[n];
            long[] cache = new long[n];
            for (int s = 0; s < n; s++) {
                // static: the keys and values of the positions run are the phase's own activations
                activations[s] = floats * FLOAT + (mode == SequenceMode.STATIC ? kv : 0);
                cache[s] = mode == SequenceMode.KV_CACHE ? kv : 0;
            }
            return new PhasePlan("block " + layer, true, shards, activations, cache, n > 1 ? 2 : 0);
        }

        private PhasePlan lmHead() {
            List<Shard> shards = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                shards.add(vector("lm.transformer.ln_f.weight", s, Split.REPLICATED));
                shards.add(vector("lm.transformer.ln_f.bias", s, Split.REPLICATED));
                linearWithBias(shards, "lm.lm_head", s, Split.VOCABULARY);
            }
            long d = config.transformer().hiddenSize();
            long[] activations = new long[n];
            java.util.Arrays.fill(activations, (2 * d + vocabShard()) * FLOAT);
            return new PhasePlan("lm head", true, shards, activations, new long[n], 0);
        }

        private void linearWithBias(List<Shard> shards, String prefix, int device, Split split) {
            shards.add(matrix(prefix + ".weight", device, split, true));
            if (split != Split.INPUT_ROWS || device == 0) {
                shards.add(vector(prefix + ".bias", device, split));
            }
        }

        private long vocabShard() {
            return (config.transformer().vocabSize() + n - 1) / n;
        }

        /** Device {@code device}'s part of {@code range} split N ways (vocabulary: the padded share, clipped to the tensor). */
        private Range part(long size, int device, Split split) {
            return switch (split) {
                case REPLICATED -> Range.all(size);
                case VOCABULARY -> new Range(Math.min(size, device * vocabShard()), Math.min(size, (device + 1) * vocabShard()));
                default -> new Range(device * size / n, (device + 1) * size / n);
            };
        }

        private Shard matrix(String name, int device, Split split, boolean quantizable) {
            long[] shape = shapes.get(name);
            Range rows = split == Split.INPUT_ROWS ? Range.all(shape[0]) : part(shape[0], device, split);
            Range cols = split == Split.INPUT_ROWS ? part(shape[1], device, split) : Range.all(shape[1]);
            splits.put(name, split);
            boolean q8 = quantizable && weights == WeightFormat.Q8 && quantizable(name);
            if (device == 0) {
                remote += q8 ? q8Bytes(shape[0], shape[1]) : numel(shape) * HALF;
            }
            if (!q8) {
                return new Shard(name, device, split, rows, cols, StagedFormat.FLOAT16, rows.length() * cols.length() * HALF);
            }
            boolean aligned = cols.start() % Q8Quantizer.BLOCK == 0 && (cols.end() % Q8Quantizer.BLOCK == 0 || cols.end() == shape[1]);
            return aligned
                    ? new Shard(name, device, split, rows, cols, StagedFormat.Q8, q8Bytes(rows.length(), cols.length()))
                    : new Shard(name, device, split, rows, cols, StagedFormat.FLOAT32, rows.length() * cols.length() * FLOAT);
        }

        private Shard vector(String name, int device, Split split) {
            long size = shapes.get(name)[0];
            Range elements = split == Split.INPUT_ROWS || split == Split.REPLICATED ? Range.all(size) : part(size, device, split);
            if (device == 0) {
                remote += size * HALF;
            }
            return new Shard(name, device, split, elements, Range.all(1), StagedFormat.FLOAT32, elements.length() * FLOAT);
        }

        private static long q8Bytes(long rows, long cols) {
            return rows * cols + rows * Q8Quantizer.blocks(Math.toIntExact(cols)) * HALF;
        }

        private static long numel(long[] shape) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }

    /**
     * The most floats the encoder keeps live at once, walking its convolutions: a bottleneck's
     * input (kept for the identity path), one convolution's input and output, and its im2col
     * buffer (in x k x k x output pixels, for k > 1).
     */
    static long encoderPeakFloats(VisualConfig v) {
        long s = v.imageResolution();
        long w = v.width();
        long peak = 0;
        long half = s / 2;
        // stem: 3 -> w/2 (stride 2), w/2 -> w/2, w/2 -> w, then a 2 x 2 average pool
        peak = Math.max(peak, 3 * s * s + (w / 2) * half * half + 3 * 9 * half * half);
        peak = Math.max(peak, 2 * (w / 2) * half * half + (w / 2) * 9 * half * half);
        peak = Math.max(peak, (w / 2 + w) * half * half + (w / 2) * 9 * half * half);
        long size = s / 4;
        long in = w;
        for (int stage = 0; stage < 4; stage++) {
            long planes = w << stage;
            for (int i = 0; i < v.layers().get(stage); i++) {
                int stride = i == 0 && stage > 0 ? 2 : 1;
                long input = in * size * size;
                long inner = planes * size * size;
                long out = size / stride;
                peak = Math.max(peak, input + input + inner);                        // conv1 (1 x 1)
                peak = Math.max(peak, input + 2 * inner + planes * 9 * size * size); // conv2 (3 x 3)
                long expanded = 4 * planes * out * out;
                peak = Math.max(peak, input + planes * out * out + 2 * expanded);    // conv3 and the identity path
                in = 4 * planes;
                size = out;
            }
        }
        return peak;
    }
}
