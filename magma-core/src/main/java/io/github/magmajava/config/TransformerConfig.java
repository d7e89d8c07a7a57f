package io.github.magmajava.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The GPT-J decoder. {@code vocabSize} rows in the LM head, {@code realVocabSize} rows in the
 * embedding (ids at or above it can never be produced); {@code sequenceLength} is the text
 * budget of the seed's configs (500 or 1024), on top of the image tokens.
 */
public record TransformerConfig(
        @JsonProperty(required = true) int layers,
        @JsonProperty(required = true) int hiddenSize,
        @JsonProperty(required = true) int heads,
        @JsonProperty(required = true) int rotaryDim,
        @JsonProperty(required = true) double rotaryBase,
        @JsonProperty(required = true) int vocabSize,
        @JsonProperty(required = true) int realVocabSize,
        @JsonProperty(required = true) int maxPositions,
        @JsonProperty(required = true) int sequenceLength) {

    public TransformerConfig {
        positive("transformer.layers", layers);
        positive("transformer.hiddenSize", hiddenSize);
        positive("transformer.heads", heads);
        positive("transformer.vocabSize", vocabSize);
        positive("transformer.realVocabSize", realVocabSize);
        positive("transformer.maxPositions", maxPositions);
        positive("transformer.sequenceLength", sequenceLength);
        if (hiddenSize % heads != 0) {
            throw new ConfigException("transformer.heads (" + heads + ") must divide transformer.hiddenSize (" + hiddenSize + ")");
        }
        int headDim = hiddenSize / heads;
        if (rotaryDim < 0 || rotaryDim % 2 != 0 || rotaryDim > headDim) {
            throw new ConfigException("transformer.rotaryDim must be even and between 0 and the head size " + headDim
                    + ", found " + rotaryDim);
        }
        if (!(rotaryBase > 1) || Double.isInfinite(rotaryBase)) {
            throw new ConfigException("transformer.rotaryBase must be a finite number > 1, found " + rotaryBase);
        }
        if (realVocabSize > vocabSize) {
            throw new ConfigException("transformer.realVocabSize (" + realVocabSize + ") must not exceed transformer.vocabSize ("
                    + vocabSize + ")");
        }
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw new ConfigException(field + " must be >= 1, found " + value);
        }
    }

    @JsonIgnore
    public int headDim() {
        return hiddenSize / heads;
    }

    /** GPT-J's inner MLP size, {@code 4 * hiddenSize}. */
    @JsonIgnore
    public int mlpSize() {
        return 4 * hiddenSize;
    }
}
