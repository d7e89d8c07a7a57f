package io.github.magmajava.cli;

import io.github.magmajava.Magma;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.quant.WeightFormat;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** How a loaded model computes: the options {@code generate} and {@code bench} share (a picocli mixin). */
final class ComputeOptions {
    @Option(names = "--threads", paramLabel = "N", converter = OptionValues.Threads.class,
            description = "The CPU backend's worker threads, including oneDNN's: from 1 to 4 per available processor"
                    + " (default: one per available processor).")
    Integer threads;

    @Option(names = "--weights", defaultValue = "fp16", converter = WeightFormatConverter.class,
            description = "fp16: as stored; q8: int8 blocks, half the bytes per decoded token, made once into the cache"
                    + " directory ($MAGMA_CACHE_DIR, default ~/.cache/magma-java) (default: ${DEFAULT-VALUE}).")
    WeightFormat weights;

    @Option(names = "--onednn", converter = OneDnnModeConverter.class,
            description = "Prefill GEMMs and convolutions: fp32 (oneDNN, PyTorch's results to float rounding), bf16"
                    + " (about twice as fast a prefill, bfloat16 accuracy) or off (pure Java) (default: fp32).")
    OneDnnMode oneDnn;

    /** These options applied to {@code builder}. */
    Magma.Builder applyTo(Magma.Builder builder) {
        if (threads != null) {
            builder.threads(threads);
        }
        if (oneDnn != null) {
            builder.oneDnn(oneDnn);
        }
        return builder.weights(weights);
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    static final class WeightFormatConverter implements ITypeConverter<WeightFormat> {
        @Override
        public WeightFormat convert(String value) {
            try {
                return WeightFormat.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class OneDnnModeConverter implements ITypeConverter<OneDnnMode> {
        @Override
        public OneDnnMode convert(String value) {
            try {
                return OneDnnMode.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("--onednn must be fp32, bf16 or off, found '" + value + "'");
            }
        }
    }
}
