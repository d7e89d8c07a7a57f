package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code magma convert}: a file generate reads without a config, and one-line refusals that leave nothing behind. */
class ConvertCommandTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY_B = FIXTURES.resolve("magma/tiny_b");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static String image() {
        return FIXTURES.resolve("image/src/gray16_40x33.png").toString();
    }

    private static String[] generate(Path checkpoint, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", checkpoint.toString(), "--image", image(),
                "--prompt", "Describe the painting:", "--max-out-tokens", "5", "--temperature", "0", "--json"));
        args.addAll(Arrays.asList(more));
        return args.toArray(String[]::new);
    }

    private static JsonNode tokens(MagmaCliTest.Result r) throws IOException {
        assertThat(r.exit()).as(r.err()).isZero();
        return JSON.readTree(r.out()).get("tokens");
    }

    @Test
    void generateReadsTheConvertedFileWithoutAConfigAndAnswersAsThePtDoes() throws Exception {
        Path out = dir.resolve("tiny_b.safetensors");
        MagmaCliTest.Result r = MagmaCliTest.run("convert", "--checkpoint", TINY_B.resolve("model.pt").toString(),
                "--model-config", TINY_B.resolve("config.json").toString(), "--to", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("wrote " + out + ": ").contains(" tensors, ", "config tiny_b, weights fp16")
                .doesNotContain("q8 cache");
        assertThat(r.err()).isEmpty();

        JsonNode expected = tokens(MagmaCliTest.run(generate(TINY_B.resolve("model.pt"), "--model-config",
                TINY_B.resolve("config.json").toString())));
        assertThat(expected).hasSize(5);
        assertThat(tokens(MagmaCliTest.run(generate(out)))).isEqualTo(expected);
        assertThat(MagmaCliTest.run("inspect", out.toString()).out()).contains("config: tiny_b (from the file's metadata")
                .doesNotContain("word_embedding.weight");
    }

    /** As a process, so that the q8 cache goes to a test directory ($MAGMA_CACHE_DIR) rather than the user's. */
    @Test
    void aQ8FileAnswersAsThePtWithQ8WeightsAndRefusesFp16() throws Exception {
        Path q8 = dir.resolve("tiny_b-q8.safetensors");
        Run convert = run("convert", "--checkpoint", TINY_B.resolve("model.pt").toString(), "--model-config",
                TINY_B.resolve("config.json").toString(), "--to", q8.toString(), "--weights", "q8");
        assertThat(convert.exit()).as(convert.err()).isZero();
        assertThat(convert.out()).contains("weights q8").contains("int8 weights copied from the q8 cache " + dir.resolve("cache"));
        Run pt = run(generate(TINY_B.resolve("model.pt"), "--model-config", TINY_B.resolve("config.json").toString(),
                "--weights", "q8"));
        assertThat(pt.exit()).as(pt.err()).isZero();
        JsonNode expected = JSON.readTree(pt.out()).get("tokens");

        assertThat(tokens(MagmaCliTest.run(generate(q8)))).isEqualTo(expected);
        MagmaCliTest.Result explicit = MagmaCliTest.run(generate(q8, "--weights", "q8"));
        assertThat(tokens(explicit)).isEqualTo(expected);
        assertThat(explicit.err()).as("nothing is quantized").isEmpty();
        assertThat(tokens(MagmaCliTest.run(generate(q8, "--backend", "ipu", "--devices", "2")))).isEqualTo(expected);
        MagmaCliTest.Result fp16 = MagmaCliTest.run(generate(q8, "--weights", "fp16"));
        assertThat(fp16.exit()).isEqualTo(1);
        assertThat(fp16.err()).isEqualTo("magma: " + q8 + ": holds int8 weights (converted with --weights q8), which cannot be"
                + " read as fp16; leave weights unset, or convert the original checkpoint with --weights fp16\n");
    }

    @Test
    void theSourceIsNeverTheTarget() throws Exception {
        Path copy = Files.copy(TINY_B.resolve("model.pt"), dir.resolve("model.pt"));
        byte[] before = Files.readAllBytes(copy);
        MagmaCliTest.Result r = MagmaCliTest.run("convert", "--checkpoint", copy.toString(), "--to", copy.toString(),
                "--model-config", TINY_B.resolve("config.json").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: cannot write " + copy + ": it is the source checkpoint; write the converted file"
                + " elsewhere\n");
        assertThat(Files.readAllBytes(copy)).isEqualTo(before);
        assertThat(names()).containsExactly("model.pt");
    }

    @Test
    void anUnwritableTargetIsRefusedBeforeReading() throws Exception {
        Path notes = Files.writeString(dir.resolve("notes.txt"), "x");
        Path under = notes.resolve("out.safetensors");
        MagmaCliTest.Result r = MagmaCliTest.run("convert", "--checkpoint", TINY_B.resolve("model.pt").toString(), "--to",
                under.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: --to " + under + ": cannot create files in " + notes + ": Not a directory\n");
        assertThat(names()).containsExactly("notes.txt");
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
        r = MagmaCliTest.run("convert", "--checkpoint", TINY_B.resolve("model.pt").toString(), "--to", "/proc/magma.safetensors");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("magma: --to /proc/magma.safetensors: cannot create files in /proc: ")
                .endsWith("\n").hasLineCount(1);
        assertThat(Path.of("/proc/magma.safetensors")).doesNotExist();
    }

    @Test
    void aFileThatIsNoCheckpointIsRefusedAndNothingIsWritten() throws Exception {
        Path notes = Files.writeString(dir.resolve("notes.txt"), "not a model");
        Path out = dir.resolve("out.safetensors");
        MagmaCliTest.Result r = MagmaCliTest.run("convert", "--checkpoint", notes.toString(), "--to", out.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("magma: " + notes + ": neither a torch.save checkpoint (a zip) nor a safetensors file\n");
        r = MagmaCliTest.run("convert", "--checkpoint", TINY_B.resolve("model.pt").toString(), "--to", out.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("magma: " + TINY_B.resolve("model.pt") + ": its shapes match no preset").hasLineCount(1);
        assertThat(names()).containsExactly("notes.txt");
    }

    @Test
    void theHelpListsConvert() {
        assertThat(MagmaCliTest.run("--help").out()).contains("convert");
        assertThat(MagmaCliTest.run("convert", "--help").out()).contains("--checkpoint", "--to", "--weights", "--model-config",
                "docs/convert.md");
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    record Run(int exit, String out, String err) {
    }

    private Run run(String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = CliProcessTest.launcher(args);
        pb.environment().put("MAGMA_CACHE_DIR", dir.resolve("cache").toString());
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        int exit = CliProcessTest.waitFor(pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start());
        return new Run(exit, Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
