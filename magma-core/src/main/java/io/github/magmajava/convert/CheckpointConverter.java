package io.github.magmajava.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.Safetensors;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Writes a MAGMA checkpoint (a torch.save {@code .pt} in DeepSpeed's layout, or safetensors) as one
 * safetensors file that {@code Magma.load} reads like the source (docs/convert.md): every tensor the
 * model reads ({@link MagmaWeights#expectedShapes}), under its official name, with its stored dtype
 * and bytes copied exactly; buffers, aliases and everything else of the source are dropped. The
 * {@code __metadata__} holds {@code format: pt}, the model config ({@link MagmaConfig#METADATA_KEY},
 * so the file loads without one), the weight format, the source's file name and size and the
 * converter's version.
 *
 * <p>With {@link WeightFormat#Q8} the Linear weights of GPT-J ({@link Q8Cache#linearWeights}) are
 * stored only in int8, as the pairs {@code <name>.q8} / {@code <name>.scale} of the q8 cache, whose
 * file they are copied from (made there first when absent, as {@code --weights q8} does); loading the
 * file then uses them ({@link Q8Weights#embedded}).
 *
 * <p>Bytes stream from the mapped files to the target in chunks (never the model on the heap), under
 * a temporary name beside the target that is renamed when complete: on any failure nothing is left at
 * the target (an existing file there stays as it was).
 */
public final class CheckpointConverter {
    /** What a converted file holds; bumped when that changes. */
    public static final String VERSION = "1";
    /** Metadata: the weight format, {@code fp16} (as stored) or {@code q8}. */
    public static final String WEIGHTS_KEY = "magma.weights";
    /** Metadata: the source's file name. */
    public static final String SOURCE_KEY = "magma.source";
    /** Metadata: the source's size in bytes. */
    public static final String SOURCE_BYTES_KEY = "magma.source.bytes";
    /** Metadata: {@code magma-java convert <VERSION>}, and the build's version when known. */
    public static final String CONVERTER_KEY = "magma.converter";
    /** Metadata of a q8 file: input features per scale ({@link Q8Quantizer#BLOCK}). */
    public static final String Q8_BLOCK_KEY = "magma.q8.block";
    /** Room for the JSON header in the free-space check: about 150 bytes a tensor, and the config. */
    private static final long HEADER_ALLOWANCE = 1 << 20;

    /** Usable bytes in a directory: the file store's, or a smaller disk in tests. */
    @FunctionalInterface
    interface FreeSpace {
        long usable(Path dir) throws IOException;
    }

    /**
     * What was written.
     *
     * @param tensors how many tensors the file holds (an int8 weight counts as its two)
     * @param bytes   the file's size
     * @param q8Cache the q8 cache the int8 weights were copied from (made for this conversion
     *                unless it was current), which stays in the cache directory
     */
    public record Converted(Path file, MagmaConfig config, WeightFormat weights, int tensors, long bytes, Optional<Path> q8Cache) {
    }

    private CheckpointConverter() {
    }

    /**
     * Converts {@code source} into {@code target}.
     *
     * @param config         the model config; empty: the one the source's metadata holds, else the
     *                       preset its shapes match
     * @param cacheDirectory where the q8 cache is made or found ({@link WeightFormat#Q8} only)
     * @throws IllegalArgumentException when {@code target} is the source
     * @throws CheckpointException      naming the source when it is not a checkpoint of the config, or
     *                                  holds int8 weights and {@code weights} is FP16
     * @throws IOException              naming the target when it cannot be written or its file
     *                                  system has too little space
     */
    public static Converted convert(Path source, Path target, WeightFormat weights, Optional<MagmaConfig> config,
            Path cacheDirectory) throws IOException {
        return convert(source, target, weights, config, cacheDirectory, dir -> Files.getFileStore(dir).getUsableSpace());
    }

    static Converted convert(Path source, Path target, WeightFormat weights, Optional<MagmaConfig> config, Path cacheDirectory,
            FreeSpace space) throws IOException {
        Objects.requireNonNull(weights, "weights");
        refuseSource(source, target);
        Path dir = target.toAbsolutePath().getParent();
        if (Files.isDirectory(target) || !Files.isDirectory(dir)) {
            throw new IOException("cannot write " + target + ": " + (Files.isDirectory(target) ? "it is a directory"
                    : dir + " is not a directory"));
        }
        try (TensorFile file = TensorFiles.open(source)) {
            MagmaConfig model = config.isPresent() ? config.get() : MagmaWeights.detectConfig(file).orElseThrow(
                    () -> new CheckpointException(source, "its shapes match no preset (" + MagmaConfig.presetNames()
                            + ") and it names no model config; give the model config explicitly"));
            Q8Weights embedded = Q8Weights.embedded(file).orElse(null);
            if (embedded != null && weights == WeightFormat.FP16) {
                throw new CheckpointException(source, "holds int8 weights (it was converted with --weights q8), not their"
                        + " fp16 originals; convert the original checkpoint to get fp16");
            }
            MagmaWeights bound = MagmaWeights.bind(file, model, embedded);
            List<Tensor> linear = weights == WeightFormat.Q8 ? Q8Cache.linearWeights(bound.languageModel()) : List.of();
            Set<String> quantized = linear.stream().map(Tensor::name).collect(Collectors.toSet());
            Map<String, long[]> names = MagmaWeights.expectedShapes(model);

            long dataBytes = 0;
            for (Map.Entry<String, long[]> e : names.entrySet()) {
                long[] shape = e.getValue();
                dataBytes += quantized.contains(e.getKey())
                        ? shape[0] * shape[1] + shape[0] * Q8Quantizer.blocks(Math.toIntExact(shape[1])) * 2L
                        : file.tensor(e.getKey()).data().byteSize();
            }
            long free = space.usable(dir);
            if (free < dataBytes + HEADER_ALLOWANCE) {
                throw new IOException("cannot write " + target + ": it needs about " + (dataBytes + HEADER_ALLOWANCE)
                        + " bytes, " + dir + " has " + free + " free");
            }

            Q8Weights int8 = embedded != null || linear.isEmpty() ? embedded : Q8Cache.open(source, linear, cacheDirectory);
            try {
                List<Tensor> tensors = new ArrayList<>();
                for (String name : names.keySet()) {
                    if (quantized.contains(name)) {
                        Q8Tensor q = int8.tensors().get(name);
                        if (q == null) {
                            throw new CheckpointException(source, "holds int8 weights, but not for " + name);
                        }
                        tensors.add(q.scales());
                        tensors.add(q.values());
                    } else {
                        tensors.add(file.tensor(name));
                    }
                }
                write(target, tensors, metadata(source, model, weights));
                return new Converted(target, model, weights, tensors.size(), Files.size(target),
                        int8 == embedded ? Optional.empty() : int8.path());
            } finally {
                if (int8 != null && int8 != embedded) {
                    int8.close();
                }
            }
        }
    }

    /** True when {@code file} is a model file holding int8 weights (converted with {@link WeightFormat#Q8}); false when unreadable. */
    public static boolean holdsInt8(Path file) {
        try (TensorFile f = TensorFiles.open(file)) {
            return Q8Weights.embedded(f).isPresent();
        } catch (CheckpointException e) {
            return false;
        }
    }

    /** The same file under another name (a link, a relative path) is the source too. */
    private static void refuseSource(Path source, Path target) throws IOException {
        if (Files.exists(source) && Files.exists(target) && Files.isSameFile(source, target)) {
            throw new IllegalArgumentException("cannot write " + target + ": it is the source checkpoint; write the"
                    + " converted file elsewhere");
        }
    }

    private static Map<String, String> metadata(Path source, MagmaConfig config, WeightFormat weights) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "pt");
        m.put(MagmaConfig.METADATA_KEY, new ObjectMapper().readTree(config.toJson()).toString());
        m.put(WEIGHTS_KEY, weights.cliName());
        if (weights == WeightFormat.Q8) {
            m.put(Q8_BLOCK_KEY, Integer.toString(Q8Quantizer.BLOCK));
        }
        m.put(SOURCE_KEY, source.getFileName().toString());
        m.put(SOURCE_BYTES_KEY, Long.toString(Files.size(source)));
        String build = CheckpointConverter.class.getPackage().getImplementationVersion();
        m.put(CONVERTER_KEY, "magma-java convert " + VERSION + (build == null ? "" : " (magma-java " + build + ")"));
        return m;
    }

    private static void write(Path target, List<Tensor> tensors, Map<String, String> metadata) throws IOException {
        try {
            Safetensors.write(target, tensors, metadata);
        } catch (IOException e) {
            throw new IOException("cannot write " + target + ": " + reason(e), e);
        }
    }

    /** The operating system's words, which Java's exceptions carry only in their type for the common cases. */
    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return switch (e) {
            case AccessDeniedException a -> "Permission denied";
            case NoSuchFileException n -> "No such file or directory";
            case FileSystemException f -> f.getClass().getSimpleName() + " " + f.getFile();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }
}
