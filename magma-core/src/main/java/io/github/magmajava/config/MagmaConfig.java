package io.github.magmajava.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A whole MAGMA model: image encoder, decoder, adapters. Immutable; every dimension of the model
 * code comes from here. Built-in presets are the seed's {@code magma_v1_500} and
 * {@code magma_v1_1024}; other models (tests use tiny ones) come from JSON of the same shape.
 */
public record MagmaConfig(
        @JsonProperty(required = true) String name,
        @JsonProperty(required = true) VisualConfig visual,
        @JsonProperty(required = true) TransformerConfig transformer,
        @JsonProperty(required = true) AdapterConfig adapter) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * The safetensors metadata key under which a file made by {@code magma convert} keeps its model
     * config, as JSON; loading such a file without a config uses it.
     */
    public static final String METADATA_KEY = "magma.config";

    public static final MagmaConfig MAGMA_V1_500 = magmaV1("magma_v1_500", 500);
    public static final MagmaConfig MAGMA_V1_1024 = magmaV1("magma_v1_1024", 1024);
    private static final Map<String, MagmaConfig> PRESETS = Map.of(
            MAGMA_V1_500.name(), MAGMA_V1_500,
            MAGMA_V1_1024.name(), MAGMA_V1_1024);

    public MagmaConfig {
        if (name == null || name.isBlank()) {
            throw new ConfigException("name must be a non-empty string");
        }
        if (visual == null || transformer == null || adapter == null) {
            throw new ConfigException("config '" + name + "' needs visual, transformer and adapter sections");
        }
        if (transformer.hiddenSize() % adapter.downsampleFactor() != 0) {
            throw new ConfigException("adapter.downsampleFactor (" + adapter.downsampleFactor()
                    + ") must divide transformer.hiddenSize (" + transformer.hiddenSize() + ")");
        }
        if (visual.imageTokens() + 1 > transformer.maxPositions()) {
            throw new ConfigException("the " + visual.imageTokens() + " image tokens leave no room for text in transformer.maxPositions ("
                    + transformer.maxPositions() + ")");
        }
    }

    private static MagmaConfig magmaV1(String name, int sequenceLength) {
        return new MagmaConfig(name,
                new VisualConfig(List.of(6, 8, 18, 8), 96, 384),
                new TransformerConfig(28, 4096, 16, 64, 10000, 50400, 50258, 2048, sequenceLength),
                new AdapterConfig(4, false));
    }

    /** The preset names, for help texts. */
    public static List<String> presetNames() {
        return PRESETS.keySet().stream().sorted().toList();
    }

    public static Optional<MagmaConfig> preset(String name) {
        return Optional.ofNullable(PRESETS.get(name));
    }

    /** A preset, or a clear error listing the presets. */
    public static MagmaConfig presetOrThrow(String name) {
        return preset(name).orElseThrow(() -> new ConfigException("unknown config '" + name + "'; presets: " + presetNames()));
    }

    public static MagmaConfig fromJson(String json) {
        try {
            return JSON.readValue(json, MagmaConfig.class);
        } catch (JsonMappingException e) {
            throw new ConfigException(describe(e), e);
        } catch (JsonProcessingException e) {
            throw new ConfigException("malformed model config JSON: " + e.getOriginalMessage(), e);
        }
    }

    public static MagmaConfig fromJson(Path file) {
        try {
            return fromJson(Files.readString(file));
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read model config: " + e.getMessage(), e);
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Positions the prompt and the answer may use after the image tokens. */
    @JsonIgnore
    public int textPositions() {
        return transformer.maxPositions() - visual.imageTokens();
    }

    private static String describe(JsonMappingException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof ConfigException ce) {
            return ce.getMessage();
        }
        String path = e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .reduce((a, b) -> b.startsWith("[") ? a + b : a + "." + b).orElse("(root)");
        return "model config field '" + path + "': " + e.getOriginalMessage();
    }
}
