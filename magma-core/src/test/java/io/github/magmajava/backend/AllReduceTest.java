package io.github.magmajava.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The SPI's tensor-parallel defaults, which a single-device backend inherits. */
class AllReduceTest {
    private final Backend backend = new ReferenceBackend();

    @Test
    void allReduceSumsInDeviceOrder() {
        // float addition is not associative: ((1e8 + -1e8) + 1) = 1, (1e8 + (-1e8 + 1)) = 0
        float[][] partials = {{1e8f, 2f}, {-1e8f, 3f}, {1f, 4f}};
        float[] sum = backend.allReduce(partials, 2);
        assertThat(sum).isSameAs(partials[0]).containsExactly(1f, 9f);
        assertThat((1e8f + (-1e8f + 1f))).as("the other order").isZero();
    }

    @Test
    void oneDeviceIsTheWholeLayer() {
        assertThat(backend.devices()).isEqualTo(1);
        float[] only = {5f, 6f};
        assertThat(backend.allReduce(new float[][] {only}, 2)).isSameAs(only).containsExactly(5f, 6f);
        Tensor w = new Tensor("w", DType.FLOAT32, new long[] {1, 2}, MemorySegment.ofArray(new float[] {2f, 3f}));
        Linear linear = backend.linear(w, null, Split.OUTPUT_COLUMNS);
        float[] y = new float[1];
        linear.forward(0, new float[] {1f, 1f}, 1, y);
        assertThat(y).containsExactly(5f);
        assertThatThrownBy(() -> linear.forward(1, new float[] {1f, 1f}, 1, y))
                .hasMessage("device 1 does not exist: this layer runs on one device");
    }
}
