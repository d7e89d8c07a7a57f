package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A stdout that cannot be written (full disk, closed pipe) ends the run with an error, and ends the generation at once. */
class StdoutFailureTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));

    /** Fails every write as a full disk does, counting the attempts. */
    static final class FullDisk extends OutputStream {
        int writes;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writes++;
            throw new IOException("No space left on device");
        }
    }

    private static String run(OutputStream out, int expectedExit, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MagmaCli.run(args, out, err);
        String message = err.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(message).isEqualTo(expectedExit);
        return message;
    }

    @Test
    void aStreamedAnswerStopsAtTheFirstFailedWrite() {
        Path model = FIXTURES.resolve("magma/tiny_a");
        FullDisk stdout = new FullDisk();
        String err = run(stdout, 1, "generate", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--image", FIXTURES.resolve("image/src/gray16_40x33.png").toString(),
                "--prompt", "A picture of", "--temperature", "0", "--max-out-tokens", "30");
        assertThat(err).isEqualTo("magma: cannot write to standard output: No space left on device\n");
        // One token's text was tried; the 29 after it were never generated, let alone written.
        assertThat(stdout.writes).isEqualTo(1);
    }

    @Test
    void outputWrittenAtTheEndFailsTheRunToo() {
        FullDisk stdout = new FullDisk();
        String err = run(stdout, 1, "tokenize", "--text", "café");
        assertThat(err).isEqualTo("magma: cannot write to standard output: No space left on device\n");
        assertThat(run(new FullDisk(), 1, "--help")).isEqualTo(err);
    }
}
