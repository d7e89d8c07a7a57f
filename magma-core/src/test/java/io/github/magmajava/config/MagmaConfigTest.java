package io.github.magmajava.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MagmaConfigTest {
    static final String TINY = """
            {"name": "tiny", "visual": {"layers": [2,1,2,1], "width": 16, "imageResolution": 384},
             "transformer": {"layers": 3, "hiddenSize": 64, "heads": 4, "rotaryDim": 8, "rotaryBase": 10000,
                             "vocabSize": 50400, "realVocabSize": 50258, "maxPositions": 2048, "sequenceLength": 500},
             "adapter": {"downsampleFactor": 4, "layerNorm": false}}""";

    @Test
    void presetsHoldTheSpecValues() {
        MagmaConfig c = MagmaConfig.presetOrThrow("magma_v1_1024");
        assertThat(c.visual().layers()).containsExactly(6, 8, 18, 8);
        assertThat(c.visual().outputChannels()).isEqualTo(3072);
        assertThat(c.visual().imageTokens()).isEqualTo(144);
        assertThat(c.transformer().headDim()).isEqualTo(256);
        assertThat(c.transformer().mlpSize()).isEqualTo(16384);
        assertThat(c.transformer().sequenceLength()).isEqualTo(1024);
        assertThat(MagmaConfig.MAGMA_V1_500.transformer().sequenceLength()).isEqualTo(500);
        assertThat(MagmaConfig.presetNames()).containsExactly("magma_v1_1024", "magma_v1_500");
        assertThatThrownBy(() -> MagmaConfig.presetOrThrow("magma_v2")).hasMessageContaining("magma_v1_500");
    }

    @Test
    void tinyJsonBindsAndRoundTrips(@TempDir Path dir) throws Exception {
        MagmaConfig c = MagmaConfig.fromJson(TINY);
        assertThat(c.transformer().headDim()).isEqualTo(16);
        assertThat(c.visual().gridSize()).isEqualTo(12);
        Path file = dir.resolve("tiny.json");
        Files.writeString(file, c.toJson());
        assertThat(MagmaConfig.fromJson(file)).isEqualTo(c);
        assertThat(MagmaConfig.fromJson(MagmaConfig.MAGMA_V1_500.toJson())).isEqualTo(MagmaConfig.MAGMA_V1_500);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"heads\": 4|\"heads\": 5|transformer.heads (5) must divide transformer.hiddenSize (64)",
        "\"rotaryDim\": 8|\"rotaryDim\": 7|transformer.rotaryDim must be even",
        "\"rotaryDim\": 8|\"rotaryDim\": 32|between 0 and the head size 16",
        "\"width\": 16|\"width\": 15|visual.width must be even",
        "\"imageResolution\": 384|\"imageResolution\": 100|multiple of 32",
        "\"layers\": [2,1,2,1]|\"layers\": [2,1,2]|visual.layers must list 4",
        "\"realVocabSize\": 50258|\"realVocabSize\": 60000|must not exceed transformer.vocabSize",
        "\"downsampleFactor\": 4|\"downsampleFactor\": 3|adapter.downsampleFactor (3) must divide",
        "\"layerNorm\": false|\"layerNorm\": true|adapter.layerNorm=true is not supported",
        "\"hiddenSize\": 64|\"hiddenSize\": 64, \"dropout\": 0.1|dropout",
        "\"sequenceLength\": 500|\"sequenceLength\": \"long\"|sequenceLength",
        "\"layers\": 3,|\"layers\": 0,|transformer.layers must be >= 1",
    })
    void inconsistentOrUnknownFieldsAreNamed(String from, String to, String message) {
        String json = TINY.replace(from, to);
        assertThat(json).isNotEqualTo(TINY);
        assertThatThrownBy(() -> MagmaConfig.fromJson(json)).isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    @Test
    void missingSectionsAndMalformedJsonAreClear(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> MagmaConfig.fromJson("{\"name\": \"x\"}")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("visual");
        assertThatThrownBy(() -> MagmaConfig.fromJson("{\"name\": ")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("malformed");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "[1, 2]");
        assertThatThrownBy(() -> MagmaConfig.fromJson(bad)).hasMessageStartingWith(bad.toString());
        assertThatThrownBy(() -> MagmaConfig.fromJson(dir.resolve("absent.json"))).hasMessageContaining("cannot read");
    }
}
