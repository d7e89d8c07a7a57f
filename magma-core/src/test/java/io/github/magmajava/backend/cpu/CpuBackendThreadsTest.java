package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The backend bounds its own thread count, so every caller (facade, CLI, benchmarks) gets one range and one message. */
class CpuBackendThreadsTest {
    @ParameterizedTest
    @ValueSource(ints = {0, -1, 40000})
    void outOfRangeCountsAreRefusedBeforeAnyThreadStarts(int threads) {
        int max = CpuBackend.maxThreads();
        assertThatThrownBy(() -> CpuBackend.withThreads(threads, OneDnnMode.OFF))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads must be from 1 to " + max + " (4 per available processor), found " + threads);
        assertThatThrownBy(() -> CpuBackend.builder().threads(threads).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("found " + threads);
    }
}
