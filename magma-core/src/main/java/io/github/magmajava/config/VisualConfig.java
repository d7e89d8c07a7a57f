package io.github.magmajava.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The CLIP ModifiedResNet image encoder: blocks per stage, base width and input resolution.
 * The stem halves the width twice, each stage doubles the planes, and the output has
 * {@code 32 * width} channels on a {@code resolution / 32} square grid.
 */
public record VisualConfig(
        @JsonProperty(required = true) List<Integer> layers,
        @JsonProperty(required = true) int width,
        @JsonProperty(required = true) int imageResolution) {

    public VisualConfig {
        if (layers == null || layers.size() != 4) {
            throw new ConfigException("visual.layers must list 4 stage depths, found " + layers);
        }
        layers = List.copyOf(layers);
        for (int i = 0; i < 4; i++) {
            if (layers.get(i) < 1) {
                throw new ConfigException("visual.layers[" + i + "] must be >= 1, found " + layers.get(i));
            }
        }
        if (width < 2 || width % 2 != 0) {
            throw new ConfigException("visual.width must be even and >= 2 (the stem uses width/2), found " + width);
        }
        if (imageResolution < 32 || imageResolution % 32 != 0) {
            throw new ConfigException("visual.imageResolution must be a positive multiple of 32 (the encoder downsamples 32x), found "
                    + imageResolution);
        }
    }

    /** Channels of each image token: the last stage's {@code 4 * 8 * width}. */
    @JsonIgnore
    public int outputChannels() {
        return width * 32;
    }

    /** Side of the output grid. */
    @JsonIgnore
    public int gridSize() {
        return imageResolution / 32;
    }

    /** Image tokens in the prefix: the grid, row-major. */
    @JsonIgnore
    public int imageTokens() {
        return gridSize() * gridSize();
    }
}
