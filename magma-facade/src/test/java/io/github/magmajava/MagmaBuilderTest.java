package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.config.MagmaConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Magma.Builder refuses what it cannot honour, the same way for every option. */
class MagmaBuilderTest {
    private static final Path TINY_A = Path.of(System.getProperty("magma.fixtures"), "magma", "tiny_a");

    private static Magma.Builder tinyA() {
        return Magma.builder(TINY_A.resolve("model.pt")).config(MagmaConfig.fromJson(TINY_A.resolve("config.json")));
    }

    @Test
    void threadCountsOutsideTheRangeAreRefusedNamingIt() {
        int max = Magma.maxThreads();
        assertThat(max).isEqualTo(4 * Runtime.getRuntime().availableProcessors());
        for (int count : new int[] {0, -1, max + 1, 40_000}) {
            assertThatThrownBy(() -> tinyA().threads(count)).as("threads(%d)", count)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("threads must be from 1 to " + max + " (4 per available processor), found " + count);
        }
        tinyA().threads(1).threads(max);
    }

    /** threads, like weights(Q8) and oneDnn, configures the built-in CPU backend: with a given backend it would be ignored. */
    @Test
    void threadsConfigureTheBuiltInBackendOnly() {
        assertThatThrownBy(() -> tinyA().backend(new ReferenceBackend()).threads(2).load())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("threads(2) configures the built-in CPU backend; do not combine it with backend(reference)");
    }
}
