package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code generate --weights}: fp16 or q8, anything else refused before any work. */
class GenerateWeightsOptionTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));

    @Test
    void anUnknownWeightFormatIsAUsageError() {
        MagmaCliTest.Result r = MagmaCliTest.run("generate", "--checkpoint", FIXTURES.resolve("magma/tiny_a/model.pt").toString(),
                "--image", "unused.png", "--prompt", "A", "--weights", "int4");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--weights").contains("unknown weight format 'int4'; expected one of fp16, q8");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theHelpNamesBothFormats() {
        assertThat(MagmaCliTest.run("generate", "--help").out()).contains("--weights").contains("fp16").contains("q8").contains("MAGMA_CACHE_DIR");
    }
}
