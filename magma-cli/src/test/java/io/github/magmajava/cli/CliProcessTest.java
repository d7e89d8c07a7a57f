package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.text.Gpt2Tokenizer;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI as a real process, started the way {@code ./magma} starts it (tools/magma-java), in the
 * bare environment of a minimal container: no LANG, no LC_* (the C locale, whose charset is ASCII).
 */
class CliProcessTest {
    private static final Path ROOT = Path.of(System.getProperty("magma.root"));
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    record Run(int exit, byte[] out, String err) {
        String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    /** Runs tools/magma-java with this JVM's class path; stdout and stderr are captured in files. */
    private Run run(String... args) throws IOException, InterruptedException {
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        Process p = launcher(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        int exit = waitFor(p);
        return new Run(exit, Files.readAllBytes(out), Files.readString(err, StandardCharsets.UTF_8));
    }

    static ProcessBuilder launcher(String... args) {
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("tools/magma-java").toString(), System.getProperty("java.home"),
                "-cp", System.getProperty("java.class.path"), MagmaCli.class.getName()));
        command.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.equals("LANG") || k.equals("LANGUAGE") || k.startsWith("LC_") || k.equals("MAGMA_JAVA_OPTS"));
        return pb;
    }

    static int waitFor(Process p) throws InterruptedException {
        // A safety net against a hung child, not a measurement.
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("the CLI did not end: " + p.info());
        }
        return p.exitValue();
    }

    private static String image() throws IOException {
        return FIXTURES.resolve("image/src/gray16_40x33.png").toString();
    }

    private static String[] generate(String prompt, String... more) {
        Path model = FIXTURES.resolve("magma/tiny_a");
        List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", model.resolve("model.pt").toString(),
                "--model-config", model.resolve("config.json").toString(), "--prompt", prompt, "--temperature", "0"));
        args.addAll(Arrays.asList(more));
        return args.toArray(String[]::new);
    }

    @Test
    void argumentsAreReadAsUtf8WhateverTheLocale() throws Exception {
        Run r = run("tokenize", "--text", "café 日本");
        assertThat(r.exit()).as(r.err()).isZero();
        String expected = Arrays.stream(Gpt2Tokenizer.load().encode("café 日本")).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]"));
        assertThat(expected).isEqualTo("[66, 1878, 2634, 10545, 245, 98, 17312, 105]");
        assertThat(r.outText()).isEqualTo(expected + "\n");
    }

    /** tiny_a answers "Q: € 202" about this image greedily with "アル applied": the bytes on stdout are its UTF-8. */
    @Test
    void answersAreWrittenAsUtf8WhateverTheLocale() throws Exception {
        Run streamed = run(generate("Q: € 202", "--image", image(), "--max-out-tokens", "2"));
        assertThat(streamed.exit()).as(streamed.err()).isZero();
        assertThat(streamed.out()).isEqualTo("アル applied\n".getBytes(StandardCharsets.UTF_8));

        Run json = run(generate("Q: € 202", "--image", image(), "--max-out-tokens", "2", "--json"));
        assertThat(json.exit()).as(json.err()).isZero();
        JsonNode answer = JSON.readTree(json.outText());
        assertThat(answer.get("text").asText()).isEqualTo("アル applied");
        assertThat(json.outText()).contains("アル applied");
    }

    @Test
    void aFullStdoutFailsTheRun() throws Exception {
        for (String[] args : new String[][] {{"tokenize", "--text", "café"}, generate("A picture of", "--image", image(), "--max-out-tokens", "20")}) {
            Process p = launcher(args).redirectOutput(new File("/dev/full")).redirectError(dir.resolve("stderr").toFile()).start();
            assertThat(waitFor(p)).as(args[0]).isEqualTo(1);
            assertThat(Files.readString(dir.resolve("stderr"))).as(args[0])
                    .isEqualTo("magma: cannot write to standard output: No space left on device\n");
        }
    }

    /** The reader of the pipe is gone (as after `| head -c 1`) before the first token is written. */
    @Test
    void aClosedPipeFailsTheRun() throws Exception {
        Process p = launcher(generate("A picture of", "--image", image(), "--max-out-tokens", "20"))
                .redirectError(dir.resolve("stderr").toFile()).start();
        p.getInputStream().close();
        assertThat(waitFor(p)).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("stderr"))).isEqualTo("magma: cannot write to standard output: Broken pipe\n");
    }

    /** `magma ... >&-`: the launcher copes with a closed stdout, the CLI says it cannot write there. */
    @Test
    void aClosedStdoutFailsTheRun() throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", "-c", "exec \"$@\" >&-", "bash"));
        command.addAll(launcher("tokenize", "--text", "café").command());
        ProcessBuilder pb = launcher();
        pb.command(command);
        Process p = pb.redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile()).start();
        assertThat(waitFor(p)).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("stderr"))).isEqualTo("magma: cannot write to standard output: Bad file descriptor\n");
        assertThat(dir.resolve("stdout")).isEmptyFile();
    }
}
