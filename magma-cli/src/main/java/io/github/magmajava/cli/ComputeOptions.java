package io.github.magmajava.cli;

import io.github.magmajava.Magma;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.ipu.IpuBackend;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

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

    @Mixin
    ModelFormatOptions format = new ModelFormatOptions();

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
        if (backend == BackendKind.ipu && format.precision != Precision.EXACT) {
            throw new ParameterException(spec.commandLine(), "--precision " + format.precision.cliName() + " applies to --backend cpu"
                    + " (the ipu backend's host runtime computes in float32)");
        }
        if (threads != null) {
            builder.threads(threads);
        }
        if (prefillChunk != null) {
            builder.prefillChunk(prefillChunk);
        }
        if (kind == BackendKind.cpu) {
            builder.precision(format.precision);
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
            builder.weights(format.weights);
        }
        return builder.sequenceMode(layout.sequenceMode);
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }
}
