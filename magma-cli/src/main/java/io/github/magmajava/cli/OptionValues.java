package io.github.magmajava.cli;

import io.github.magmajava.Magma;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.download.DownloadOptions;
import io.github.magmajava.ipu.DeviceSpec;
import io.github.magmajava.quant.WeightFormat;
import java.net.URI;
import java.util.function.Function;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The one place option values are checked, as picocli converts them: a bad value is a usage error
 * (exit 2) before any work, and picocli's message names the option as typed ("Invalid value for
 * option '--top-p': ..."), where the API's own checks would name its fields (topP) at exit 1.
 */
final class OptionValues {
    private OptionValues() {
    }

    /** An integer of at least {@code min}. */
    abstract static class AtLeast implements ITypeConverter<Integer> {
        private final int min;

        AtLeast(int min) {
            this.min = min;
        }

        @Override
        public Integer convert(String value) {
            int v = parseInt(value);
            if (v < min) {
                throw new TypeConversionException("must be >= " + min + ", found " + v);
            }
            return v;
        }
    }

    static final class Positive extends AtLeast {
        Positive() {
            super(1);
        }
    }

    static final class NonNegative extends AtLeast {
        NonNegative() {
            super(0);
        }
    }

    /** bench --new-tokens: the first token comes from the prefill, so decode is timed on the second on. */
    static final class AtLeastTwo extends AtLeast {
        AtLeastTwo() {
            super(2);
        }
    }

    /** From 1 to {@link Magma#maxThreads()}, the range Magma.Builder takes. */
    static final class Threads implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int v = parseInt(value);
            if (v < 1 || v > Magma.maxThreads()) {
                throw new TypeConversionException("must be from 1 to " + Magma.maxThreads() + " (" + CpuBackend.THREADS_PER_PROCESSOR
                        + " per available processor), found " + v);
            }
            return v;
        }
    }

    static final class Temperature implements ITypeConverter<Float> {
        @Override
        public Float convert(String value) {
            float v = parseFloat(value);
            if (!(v >= 0) || Float.isInfinite(v)) {
                throw new TypeConversionException("must be a finite number >= 0 (0 picks the most likely token), found " + v);
            }
            return v;
        }
    }

    static final class TopP implements ITypeConverter<Float> {
        @Override
        public Float convert(String value) {
            float v = parseFloat(value);
            if (!(v > 0 && v <= 1)) {
                throw new TypeConversionException("must be in (0, 1] (1 keeps every token), found " + v);
            }
            return v;
        }
    }

    static final class Preset implements ITypeConverter<MagmaConfig> {
        @Override
        public MagmaConfig convert(String value) {
            return MagmaConfig.preset(value).orElseThrow(() -> new TypeConversionException("unknown config '" + value
                    + "'; presets: " + String.join(", ", MagmaConfig.presetNames())));
        }
    }

    /** A value an API parser reads, its IllegalArgumentException turned into picocli's usage error. */
    abstract static class Parsed<T> implements ITypeConverter<T> {
        private final Function<String, T> parser;

        Parsed(Function<String, T> parser) {
            this.parser = parser;
        }

        @Override
        public T convert(String value) {
            try {
                return parser.apply(value.trim());
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** --device: ipu-mk2, bow or host. */
    static final class Device extends Parsed<DeviceSpec> {
        Device() {
            super(DeviceSpec::named);
        }
    }

    /** A size in bytes: 900MB, 512MiB, 1.5GiB, 123456. */
    static final class Size extends Parsed<Long> {
        Size() {
            super(DeviceSpec::parseSize);
        }
    }

    static final class Mode extends Parsed<SequenceMode> {
        Mode() {
            super(SequenceMode::parse);
        }
    }

    static final class Weights extends Parsed<WeightFormat> {
        Weights() {
            super(WeightFormat::parse);
        }
    }

    /** download's URL: http or https, with a host. */
    static final class HttpUrl extends Parsed<URI> {
        HttpUrl() {
            super(CheckpointSource::url);
        }
    }

    /** --sha256: 64 hex digits, kept in lower case. */
    static final class Sha256 extends Parsed<String> {
        Sha256() {
            super(DownloadOptions::parseSha256);
        }
    }

    /** Any long (a seed); the message matches the others'. */
    static final class AnyLong implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + value + "' is not an integer");
            }
        }
    }

    private static int parseInt(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not an integer");
        }
    }

    private static float parseFloat(String value) {
        try {
            return Float.parseFloat(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a number");
        }
    }
}
