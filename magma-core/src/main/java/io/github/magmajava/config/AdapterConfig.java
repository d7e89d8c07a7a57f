package io.github.magmajava.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/** MAGMA's bottleneck adapter after each MLP: {@code hiddenSize / downsampleFactor} hidden units. */
public record AdapterConfig(
        @JsonProperty(required = true) int downsampleFactor,
        @JsonProperty(required = true) boolean layerNorm) {

    public AdapterConfig {
        if (downsampleFactor < 1) {
            throw new ConfigException("adapter.downsampleFactor must be >= 1, found " + downsampleFactor);
        }
        if (layerNorm) {
            throw new ConfigException("adapter.layerNorm=true is not supported: the public MAGMA checkpoint has adapters without LayerNorm");
        }
    }
}
