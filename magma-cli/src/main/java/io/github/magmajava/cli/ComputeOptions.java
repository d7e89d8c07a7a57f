package io.github.magmajava.cli;

import io.github.magmajava.Magma;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.quant.WeightFormat;
import java.util.Locale;
import io.github.magmajava.ipu.IpuBackend;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/** How a loaded model computes: the options {@code generate} and {@code bench} share (a picocli mixin). */
final class ComputeOptions {
    /** The built-in backends. */
    enum BackendKind {
        cpu, ipu
    }

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "cpu|ipu",
            description = "cpu: the CPU backend; ipu: the seed's execution model (phases staged into --devices bounded"
                    + " device memories, tensor-parallel) run on the host, docs/ipu.md (default: ${DEFAULT-VALUE}).")
    BackendKind backend;

    @Mixin
    DeviceOptions layout = new DeviceOptions();

    /** The ipu backend the last model loaded with these options runs on (for bench's per-phase report). */
    IpuBackend lastIpuBackend;

    @Option(names = "--threads", paramLabel = "N", converter = OptionValues.Threads.class,
            description = "The CPU backend's worker threads, including oneDNN's: from 1 to 4 per available processor"
                    + " (default: one per available processor).")
    Integer threads;

    @Option(names = "--weights", defaultValue = "fp16", converter = OptionValues.Weights.class,
            description = "fp16: as stored; q8: int8 blocks, half the bytes per decoded token, made once into the cache"
                    + " directory ($MAGMA_CACHE_DIR, default ~/.cache/magma-java) (default: ${DEFAULT-VALUE}, or q8 for a file"
                    + " made by convert --weights q8).")
    WeightFormat weights;

    @Option(names = "--precision", defaultValue = "exact", converter = PrecisionConverter.class, paramLabel = "exact|fast",
            description = "exact: float32 throughout, PyTorch's results within float rounding; fast: the image encoder and the"
                    + " prompt's GEMMs in bfloat16, about twice as fast to the first token, image embeddings within 7e-3 and"
                    + " logits within 5e-3 of their range of PyTorch's, the same greedy tokens on the test fixtures (docs/performance.md, Precision) (default: ${DEFAULT-VALUE}).")
    Precision precision;

    @Option(names = "--prefill-chunk", paramLabel = "ROWS", converter = OptionValues.Positive.class,
            description = "Prompt positions run per scheduling turn, between the decode steps of other generations"
                    + " (default: the whole prompt at once; serve: " + SERVE_PREFILL_CHUNK + ").")
    Integer prefillChunk;

    /** serve's --prefill-chunk: about a second on the full model, so answers in flight pause that long for a new prompt. */
    static final int SERVE_PREFILL_CHUNK = 16;

    /**
     * These options applied to {@code builder}.
     *
     * @throws ParameterException for an option the chosen backend does not read
     */
    Magma.Builder applyTo(Magma.Builder builder, CommandSpec spec) {
        return applyTo(builder, spec, backend);
    }

    /** As {@link #applyTo(Magma.Builder, CommandSpec)} on {@code kind} instead of {@code --backend} (bench's CPU baseline). */
    Magma.Builder applyTo(Magma.Builder builder, CommandSpec spec, BackendKind kind) {
        if (backend == BackendKind.cpu && layout.ipuOnlyOption() != null) {
            throw new ParameterException(spec.commandLine(), layout.ipuOnlyOption() + " applies to --backend ipu");
        }
        if (backend == BackendKind.ipu && precision != Precision.EXACT) {
            throw new ParameterException(spec.commandLine(), "--precision " + precision.cliName() + " applies to --backend cpu"
                    + " (the ipu backend's host runtime computes in float32)");
        }
        if (threads != null) {
            builder.threads(threads);
        }
        if (prefillChunk != null) {
            builder.prefillChunk(prefillChunk);
        }
        if (kind == BackendKind.cpu) {
            builder.precision(precision);
        }
        if (kind == BackendKind.ipu) {
            builder.backend(model -> {
                IpuBackend made = IpuBackend.create(model, layout.ipuOptions());
                lastIpuBackend = made;
                return made;
            });
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--weights")) {
            // Unset, a file converted with --weights q8 runs on its own int8 weights (docs/convert.md).
            builder.weights(weights);
        }
        return builder.sequenceMode(layout.sequenceMode);
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    static final class PrecisionConverter implements ITypeConverter<Precision> {
        @Override
        public Precision convert(String value) {
            try {
                return Precision.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("--precision must be exact or fast, found '" + value + "'");
            }
        }
    }
}
