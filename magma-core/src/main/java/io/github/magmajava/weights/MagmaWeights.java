package io.github.magmajava.weights;

import io.github.magmajava.config.ConfigException;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Every tensor of a MAGMA checkpoint bound to its place in the model, checked against a config.
 * Binding is strict where the official loader ({@code strict=False}) is not: a missing tensor, a
 * wrong shape, a non-float dtype or an unknown name fails, all of them reported in one error.
 * Known buffers (attention masks, rotary tables, BatchNorm counters) and storage-sharing aliases
 * ({@code word_embedding.weight}, {@code transformer.N.*}) are accepted and ignored.
 */
public record MagmaWeights(MagmaConfig config, ImagePrefixWeights imagePrefix, LanguageModelWeights languageModel) {

    private static final Pattern IGNORED = Pattern.compile(
            "lm\\.transformer\\.h\\.\\d+\\.attn\\.attention\\.(bias|masked_bias|scale_attn|sin|cos)"
                    + "|image_prefix\\.enc\\..*\\.num_batches_tracked"
                    + "|word_embedding\\.weight"
                    + "|transformer\\.\\d+\\..*");

    /** Binds the tensors of {@code file} (a state dict, already unwrapped from {@code module}). */
    public static MagmaWeights bind(TensorFile file, MagmaConfig config) throws CheckpointException {
        return bind(file, config, null);
    }

    /**
     * As {@link #bind(TensorFile, MagmaConfig)} for a file that holds some weights only in int8
     * ({@code embedded}, from {@link Q8Weights#embedded}: a file made by {@code magma convert
     * --weights q8}). Such a weight may be absent from the file; it is then bound to its int8
     * values under its own name (int8 {@code [out, in]}, shape checked), which a backend given
     * {@code embedded} replaces by name, as it does with the q8 cache; a backend without them
     * refuses the int8 dtype. The pairs' own tensors are expected, not unexpected.
     *
     * @param embedded null when the file holds no int8 weights
     */
    public static MagmaWeights bind(TensorFile file, MagmaConfig config, Q8Weights embedded) throws CheckpointException {
        Binder b = new Binder(file.tensors(), embedded == null ? Map.of() : embedded.tensors());
        MagmaWeights weights = new MagmaWeights(config, bindImagePrefix(b, config), bindLanguageModel(b, config));
        b.finish(file, config);
        return weights;
    }

    /**
     * The model config of {@code file}: the one its safetensors metadata holds under
     * {@link MagmaConfig#METADATA_KEY} (a file made by {@code magma convert}), else the preset its
     * shapes match ({@link #detectPreset}), if any.
     *
     * @throws CheckpointException naming the file when the metadata's config is not a valid model config
     */
    public static Optional<MagmaConfig> detectConfig(TensorFile file) throws CheckpointException {
        if (file instanceof SafetensorsFile s && s.metadata().containsKey(MagmaConfig.METADATA_KEY)) {
            try {
                return Optional.of(MagmaConfig.fromJson(s.metadata().get(MagmaConfig.METADATA_KEY)));
            } catch (ConfigException e) {
                throw new CheckpointException(file.path(), "the model config in its metadata (" + MagmaConfig.METADATA_KEY
                        + ") is not valid: " + e.getMessage(), e);
            }
        }
        return detectPreset(file.tensors());
    }

    /**
     * The preset whose shapes these tensors have, if any. magma_v1_500 and magma_v1_1024 share
     * every shape; the larger text budget wins.
     */
    public static Optional<MagmaConfig> detectPreset(Map<String, Tensor> tensors) {
        for (MagmaConfig preset : List.of(MagmaConfig.MAGMA_V1_1024, MagmaConfig.MAGMA_V1_500)) {
            Binder b = new Binder(tensors, Map.of());
            bindImagePrefix(b, preset);
            bindLanguageModel(b, preset);
            if (b.problems.isEmpty()) {
                return Optional.of(preset);
            }
        }
        return Optional.empty();
    }

    /** Every tensor the model reads, by checkpoint name, with its expected shape. */
    public static Map<String, long[]> expectedShapes(MagmaConfig config) {
        Binder b = new Binder(Map.of(), Map.of());
        bindImagePrefix(b, config);
        bindLanguageModel(b, config);
        return b.expected;
    }

    private static ImagePrefixWeights bindImagePrefix(Binder b, MagmaConfig config) {
        VisualConfig v = config.visual();
        int d = config.transformer().hiddenSize();
        String enc = "image_prefix.enc.";
        int w = v.width();
        ConvBn stem1 = b.convBn(enc + "conv1", enc + "bn1", w / 2, 3, 3);
        ConvBn stem2 = b.convBn(enc + "conv2", enc + "bn2", w / 2, w / 2, 3);
        ConvBn stem3 = b.convBn(enc + "conv3", enc + "bn3", w, w / 2, 3);
        List<List<BottleneckWeights>> stages = new ArrayList<>();
        int inplanes = w;
        for (int s = 0; s < 4; s++) {
            int planes = w << s;
            int stride = s == 0 ? 1 : 2;
            List<BottleneckWeights> blocks = new ArrayList<>();
            for (int i = 0; i < v.layers().get(s); i++) {
                String p = enc + "layer" + (s + 1) + "." + i + ".";
                ConvBn c1 = b.convBn(p + "conv1", p + "bn1", planes, inplanes, 1);
                ConvBn c2 = b.convBn(p + "conv2", p + "bn2", planes, planes, 3);
                ConvBn c3 = b.convBn(p + "conv3", p + "bn3", planes * 4, planes, 1);
                boolean needsDownsample = i == 0 && (stride > 1 || inplanes != planes * 4);
                Optional<ConvBn> down = needsDownsample
                        ? Optional.of(b.convBn(p + "downsample.0", p + "downsample.1", planes * 4, inplanes, 1))
                        : Optional.empty();
                blocks.add(new BottleneckWeights(c1, c2, c3, down, i == 0 ? stride : 1));
                inplanes = planes * 4;
            }
            stages.add(blocks);
        }
        ResNetWeights resnet = new ResNetWeights(stem1, stem2, stem3, stages);
        return new ImagePrefixWeights(resnet,
                b.get("image_prefix.proj.weight", d, v.outputChannels()), b.get("image_prefix.proj.bias", d),
                b.get("image_prefix.ln.weight", d), b.get("image_prefix.ln.bias", d));
    }

    private static LanguageModelWeights bindLanguageModel(Binder b, MagmaConfig config) {
        TransformerConfig t = config.transformer();
        int d = t.hiddenSize();
        int mlp = t.mlpSize();
        int bottleneck = d / config.adapter().downsampleFactor();
        List<BlockWeights> blocks = new ArrayList<>();
        for (int n = 0; n < t.layers(); n++) {
            String p = "lm.transformer.h." + n + ".";
            String a = p + "attn.attention.";
            blocks.add(new BlockWeights(
                    b.get(p + "ln_1.weight", d), b.get(p + "ln_1.bias", d),
                    b.linear(a + "q_proj.weight", d, d), b.linear(a + "k_proj.weight", d, d),
                    b.linear(a + "v_proj.weight", d, d), b.linear(a + "out_proj.weight", d, d),
                    b.linear(p + "mlp.0.c_fc.weight", mlp, d), b.get(p + "mlp.0.c_fc.bias", mlp),
                    b.linear(p + "mlp.0.c_proj.weight", d, mlp), b.get(p + "mlp.0.c_proj.bias", d),
                    b.linear(p + "mlp.1.adapter.0.weight", bottleneck, d), b.get(p + "mlp.1.adapter.0.bias", bottleneck),
                    b.linear(p + "mlp.1.adapter.2.weight", d, bottleneck), b.get(p + "mlp.1.adapter.2.bias", d)));
        }
        return new LanguageModelWeights(
                b.get("lm.transformer.wte.weight", t.realVocabSize(), d), blocks,
                b.get("lm.transformer.ln_f.weight", d), b.get("lm.transformer.ln_f.bias", d),
                b.linear("lm.lm_head.weight", t.vocabSize(), d), b.get("lm.lm_head.bias", t.vocabSize()));
    }

    /** Looks tensors up, collecting every problem instead of stopping at the first. */
    private static final class Binder {
        private final Map<String, Tensor> tensors;
        private final Map<String, Q8Tensor> int8;
        private final Map<String, long[]> expected = new LinkedHashMap<>();
        private final List<String> problems = new ArrayList<>();
        private final List<Q8Tensor> int8Bound = new ArrayList<>();

        Binder(Map<String, Tensor> tensors, Map<String, Q8Tensor> int8) {
            this.tensors = tensors;
            this.int8 = int8;
        }

        /**
         * A Linear weight of the language model, which the backend reads through
         * {@code Backend.linear} and so may find in int8 by name (exactly the weights the q8 cache
         * quantizes): bound to its int8 values when only those are in the file.
         */
        Tensor linear(String name, long... shape) {
            Q8Tensor q = int8.get(name);
            if (q == null) {
                return get(name, shape);
            }
            int8Bound.add(q);
            if (!q.fits(shape)) {
                problems.add("int8 tensor " + q.values().name() + " has shape " + Arrays.toString(q.values().shape())
                        + ", expected " + Arrays.toString(shape));
            }
            if (tensors.containsKey(name)) {
                return get(name, shape);
            }
            expected.put(name, shape);
            return q.values().withName(name);
        }

        Tensor get(String name, long... shape) {
            expected.put(name, shape);
            Tensor t = tensors.get(name);
            if (t == null) {
                problems.add("missing tensor " + name + " " + Arrays.toString(shape));
            } else if (!t.hasShape(shape)) {
                problems.add("tensor " + name + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
            } else if (!t.dtype().isFloatingPoint()) {
                problems.add("tensor " + name + " has dtype " + t.dtype().torchName() + ", expected a floating-point type");
            }
            return t;
        }

        ConvBn convBn(String conv, String bn, int out, int in, int k) {
            return new ConvBn(get(conv + ".weight", out, in, k, k), new BatchNormWeights(
                    get(bn + ".weight", out), get(bn + ".bias", out),
                    get(bn + ".running_mean", out), get(bn + ".running_var", out)));
        }

        void finish(TensorFile file, MagmaConfig config) throws CheckpointException {
            Set<String> unexpected = new LinkedHashSet<>(tensors.keySet());
            unexpected.removeAll(expected.keySet());
            int8Bound.forEach(q -> {
                unexpected.remove(q.values().name());
                unexpected.remove(q.scales().name());
            });
            unexpected.removeIf(n -> IGNORED.matcher(n).matches());
            for (String name : unexpected) {
                problems.add("unexpected tensor " + name + " " + tensors.get(name).describe());
            }
            if (!problems.isEmpty()) {
                int shown = Math.min(problems.size(), 50);
                String list = problems.subList(0, shown).stream().collect(Collectors.joining("\n  ", "\n  ", ""));
                String more = problems.size() > shown ? "\n  ... and " + (problems.size() - shown) + " more" : "";
                throw new CheckpointException(file.path(), "does not match model config '" + config.name() + "' ("
                        + problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + "):" + list + more);
            }
        }
    }
}
