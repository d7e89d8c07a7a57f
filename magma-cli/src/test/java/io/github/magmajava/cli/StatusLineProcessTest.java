package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate} on a terminal (util-linux's {@code script} gives it one) shows its stages on one
 * status line, and clears it before the answer; with {@code --quiet}, or off a terminal
 * (CliProcessTest), nothing but the answer.
 */
@Timeout(120)
class StatusLineProcessTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));

    @TempDir
    Path dir;

    private String onTerminal(String... extra) throws IOException, InterruptedException {
        Path model = FIXTURES.resolve("magma/tiny_a");
        List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--image", FIXTURES.resolve("image/src/rgb_97x61.png").toString(),
                "--prompt", "A picture of", "--temperature", "0", "--max-out-tokens", "5", "--prefill-chunk", "2"));
        args.addAll(List.of(extra));
        ProcessBuilder launcher = CliProcessTest.launcher(args.toArray(String[]::new));
        String command = launcher.command().stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
        Path typescript = dir.resolve("typescript");
        Process p = new ProcessBuilder("script", "-q", "-e", "-c", command, typescript.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(CliProcessTest.waitFor(p)).isZero();
        return Files.readString(typescript, StandardCharsets.UTF_8);
    }

    @Test
    void aTerminalSeesTheStagesThenTheAnswerAloneOnItsLine() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux's script is not installed");
        String screen = onTerminal();
        assertThat(screen).contains("loading model.pt...", "encoding the image...", "reading the prompt: 0/", "reading the prompt: 2/");
        // The line is cleared, then the answer follows: nothing of the status line after the answer starts.
        int lastClear = screen.lastIndexOf("\r\033[K");
        assertThat(lastClear).isPositive();
        assertThat(screen.substring(lastClear + 4)).doesNotContain("...", "reading").isNotBlank();
        assertThat(onTerminal("--quiet")).doesNotContain("\033[K", "loading", "reading the prompt");
    }
}
