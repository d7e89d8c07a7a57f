package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code generate --weights}: fp16 or q8, anything else refused before any work. */
class GenerateWeightsOptionTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));

    @Test
    void anUnknownWeightFormatIsAUsageError() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = MagmaCli.run(new String[] {"generate", "--checkpoint", FIXTURES.resolve("magma/tiny_a/model.pt").toString(),
                "--image", "unused.png", "--prompt", "A", "--weights", "int4"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--weights").contains("unknown weight format 'int4'; expected one of fp16, q8");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void theHelpNamesBothFormats() {
        StringWriter out = new StringWriter();
        MagmaCli.run(new String[] {"generate", "--help"}, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        assertThat(out.toString()).contains("--weights").contains("fp16").contains("q8").contains("MAGMA_CACHE_DIR");
    }
}
