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

    private String generateOnTerminal(String... extra) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--prompt", "A picture of"));
        args.addAll(List.of(extra));
        return onTerminal("", "generate", args.toArray(String[]::new));
    }

    /** {@code command}'s output on a terminal made by script(1), its stdin {@code stdin} through a pipe when not empty. */
    private String onTerminal(String stdin, String command, String... extra) throws IOException, InterruptedException {
        Path model = FIXTURES.resolve("magma/tiny_a");
        List<String> args = new ArrayList<>(List.of(command, "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--image", FIXTURES.resolve("image/src/rgb_97x61.png").toString(),
                "--temperature", "0", "--max-out-tokens", "5", "--prefill-chunk", "2"));
        args.addAll(List.of(extra));
        ProcessBuilder launcher = CliProcessTest.launcher(args.toArray(String[]::new));
        String shell = launcher.command().stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
        if (!stdin.isEmpty()) {
            shell = "printf '" + stdin + "' | " + shell;
        }
        Path typescript = dir.resolve("typescript");
        Process p = new ProcessBuilder("script", "-q", "-e", "-c", shell, typescript.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(CliProcessTest.waitFor(p)).isZero();
        return Files.readString(typescript, StandardCharsets.UTF_8);
    }

    @Test
    void aTerminalSeesTheStagesThenTheAnswerAloneOnItsLine() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux's script is not installed");
        String screen = generateOnTerminal();
        assertThat(screen).contains("loading model.pt...", "encoding the image...", "reading the prompt: 0/", "reading the prompt: 2/");
        // The line is cleared, then the answer follows: nothing of the status line after the answer starts.
        int lastClear = screen.lastIndexOf("\r\033[K");
        assertThat(lastClear).isPositive();
        assertThat(screen.substring(lastClear + 4)).doesNotContain("...", "reading").isNotBlank();
        assertThat(generateOnTerminal("--quiet")).doesNotContain("\033[K", "loading", "reading the prompt");
    }

    /** chat's first question about an image shows the image's positions being read, then its own prompt's. */
    @Test
    void chatShowsTheStagesOfAQuestion() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux's script is not installed");
        String screen = onTerminal("A picture of\\n/quit\\n", "chat");
        assertThat(screen).contains("loading the model...", "encoding the image...", "reading the prompt: 0/4 positions",
                "reading the prompt: 0/3 positions", "first token");
        assertThat(onTerminal("A picture of\\n/quit\\n", "chat", "--quiet")).doesNotContain("\033[K", "reading the prompt");
    }
}
