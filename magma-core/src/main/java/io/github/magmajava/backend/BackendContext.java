package io.github.magmajava.backend;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.quant.Q8Weights;
import io.github.magmajava.quant.WeightFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link BackendFactory} learns about the model it is making a backend for.
 *
 * @param quantized    the int8 weights to read instead of the Linear weights ({@link WeightFormat#Q8}); owned by the caller
 * @param threads      worker threads; 0 for one per available processor
 * @param precision    how closely to follow PyTorch float32 ({@link Precision})
 */
public record BackendContext(MagmaConfig config, WeightFormat weights, Optional<Q8Weights> quantized, SequenceMode sequenceMode,
        int threads, Precision precision) {
    public BackendContext {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(quantized, "quantized");
        Objects.requireNonNull(sequenceMode, "sequenceMode");
        Objects.requireNonNull(precision, "precision");
        if (weights == WeightFormat.Q8 && quantized.isEmpty()) {
            throw new IllegalArgumentException("weights q8 needs the int8 weights");
        }
    }
}
