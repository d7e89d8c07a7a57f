package io.github.magmajava.cli;

import io.github.magmajava.backend.Precision;
import io.github.magmajava.quant.WeightFormat;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** How the weights are read and how closely the model follows PyTorch: {@code --weights} and {@code --precision} (a picocli mixin). */
final class ModelFormatOptions {
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
