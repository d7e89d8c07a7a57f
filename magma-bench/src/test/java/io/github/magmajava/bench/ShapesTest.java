package io.github.magmajava.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java benchmarks and tools/bench/pytorch_baseline.py must time the same shapes: both follow
 * tools/bench/shapes.json, and this test holds the Java enums to it.
 */
class ShapesTest {
    private static JsonNode shapes;

    @BeforeAll
    static void read() throws IOException {
        // Surefire runs in the module directory.
        shapes = new ObjectMapper().readTree(Path.of("..", "tools", "bench", "shapes.json").toFile());
    }

    @Test
    void linearShapesMatch() {
        JsonNode linear = shapes.get("linear");
        assertThat(names(linear)).containsExactlyElementsOf(Arrays.stream(LinearShape.values()).map(Enum::name).toList());
        for (LinearShape s : LinearShape.values()) {
            assertThat(linear.get(s.name()).get("out").asInt()).as(s.name()).isEqualTo(s.out);
            assertThat(linear.get(s.name()).get("in").asInt()).as(s.name()).isEqualTo(s.in);
        }
        assertThat(shapes.get("gemm_rows").asInt()).isEqualTo(GemmBenchmark.ROWS);
    }

    @Test
    void convShapesMatch() {
        JsonNode conv = shapes.get("conv");
        assertThat(names(conv)).containsExactlyElementsOf(Arrays.stream(ConvShape.values()).map(Enum::name).toList());
        for (ConvShape s : ConvShape.values()) {
            JsonNode c = conv.get(s.name());
            assertThat(new int[] {c.get("in").asInt(), c.get("out").asInt(), c.get("kernel").asInt(), c.get("stride").asInt(),
                    c.get("size").asInt()}).as(s.name()).containsExactly(s.in, s.out, s.kernel, s.stride, s.size);
        }
    }

    @Test
    void attentionCasesMatch() {
        JsonNode attention = shapes.get("attention");
        assertThat(attention.get("heads").asInt()).isEqualTo(AttentionBenchmark.HEADS);
        assertThat(attention.get("head_dim").asInt()).isEqualTo(AttentionBenchmark.HEAD_DIM);
        JsonNode cases = attention.get("cases");
        assertThat(names(cases)).containsExactlyElementsOf(Arrays.stream(AttentionCase.values()).map(Enum::name).toList());
        for (AttentionCase c : AttentionCase.values()) {
            assertThat(cases.get(c.name()).get("rows").asInt()).as(c.name()).isEqualTo(c.rows);
            assertThat(cases.get(c.name()).get("start").asInt()).as(c.name()).isEqualTo(c.startPos);
        }
    }

    @Test
    void constantsMatch() {
        assertThat(shapes.get("memory_bandwidth_bytes").asLong()).isEqualTo(MemoryBandwidth.BYTES);
        assertThat(shapes.get("elementwise").get("d").asInt()).isEqualTo(ElementwiseBenchmark.D);
        assertThat(shapes.get("elementwise").get("mlp").asInt()).isEqualTo(ElementwiseBenchmark.MLP);
        assertThat(shapes.get("stages").get("prompt").asInt()).isEqualTo(OneBlockModel.PROMPT);
        assertThat(shapes.get("stages").get("decode_steps").asInt()).isEqualTo(GptjBlockBenchmark.STEPS);
    }

    private static List<String> names(JsonNode object) {
        return StreamSupport.stream(((Iterable<String>) object::fieldNames).spliterator(), false).toList();
    }
}
