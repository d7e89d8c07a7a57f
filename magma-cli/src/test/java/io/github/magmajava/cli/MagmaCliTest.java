package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.magmajava.io.Npy;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MagmaCliTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final ObjectMapper JSON = new ObjectMapper();

    record Result(int exit, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MagmaCli.run(args, out, err);
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tokenizePrintsTheIdsAsJson() throws Exception {
        Result r = run("tokenize", "--text", "A picture of a cabin by the");
        assertThat(r.exit()).isZero();
        assertThat(JSON.readTree(r.out())).isEqualTo(JSON.readTree("[32, 4286, 286, 257, 9351, 416, 262]"));
        assertThat(JSON.readTree(run("tokenize", "--text", "<|image|>Q:<|endoftext|>").out()))
                .isEqualTo(JSON.readTree("[50257, 48, 25, 50256]"));
    }

    /** Every checkpoint fixture lists exactly what torch lists (tools/fixtures/make_checkpoint_fixtures.py). */
    @Test
    void inspectJsonListsExactlyWhatTorchLists() throws Exception {
        JsonNode expected = JSON.readTree(FIXTURES.resolve("checkpoint/expected.json").toFile());
        Iterator<Map.Entry<String, JsonNode>> files = expected.get("files").fields();
        int checked = 0;
        while (files.hasNext()) {
            Map.Entry<String, JsonNode> file = files.next();
            Result r = run("inspect", FIXTURES.resolve("checkpoint").resolve(file.getKey()).toString(), "--json");
            assertThat(r.exit()).as(file.getKey() + ": " + r.err()).isZero();
            ArrayNode want = JSON.createArrayNode();
            for (JsonNode t : expected.get("listings").get(file.getValue().asText())) {
                want.addObject().put("name", t.get("name").asText()).put("dtype", t.get("dtype").asText())
                        .set("shape", t.get("shape"));
            }
            assertThat(JSON.readTree(r.out())).as(file.getKey()).isEqualTo(want);
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(8);
    }

    @Test
    void inspectTableShowsTensorsSizeAndConfig() {
        Result r = run("inspect", FIXTURES.resolve("magma/tiny_a/model.pt").toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("lm.lm_head.weight", "float16", "[50400, 32]", "word_embedding.weight",
                "lm.transformer.h.0.attn.attention.bias", "bool", "MiB of tensor data", "no preset matches");
    }

    @Test
    void preprocessWritesTheNormalizedImage(@TempDir Path dir) throws Exception {
        Path image = Files.list(FIXTURES.resolve("image/src")).filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        Path out = dir.resolve("image.npy");
        Result r = run("preprocess", "--image", image.toString(), "--size", "32", "--out", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Npy.NpyArray a = Npy.read(out);
        assertThat(a.shape()).containsExactly(1, 3, 32, 32);
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : a.data()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        // (0 - mean) / std and (1 - mean) / std bound every normalized channel.
        assertThat(min).isBetween(-1.8f, 0f);
        assertThat(max).isBetween(0f, 2.2f);
    }

    @Test
    void generateJsonAndDumpsMatchTheModel(@TempDir Path dir) throws Exception {
        Path model = FIXTURES.resolve("magma/tiny_b");
        Path image = Files.list(FIXTURES.resolve("image/src")).filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        Result r = run("generate", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--image", image.toString(), "--prompt", "Describe the painting:",
                "--max-out-tokens", "5", "--temperature", "0", "--json", "--dump-dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("tokens")).hasSize(5);
        assertThat(json.get("promptTokens").asInt()).isEqualTo(5);
        assertThat(json.get("text").asText()).isNotEmpty();
        assertThat(json.get("timings").get("prefillSeconds").asDouble()).isPositive();
        assertThat(Npy.read(dir.resolve("image.npy")).shape()).containsExactly(1, 3, 96, 96);
        assertThat(Npy.read(dir.resolve("image_embeddings.npy")).shape()).containsExactly(1, 9, 24);
        Npy.NpyArray logits = Npy.read(dir.resolve("logits.npy"));
        assertThat(logits.shape()).containsExactly(5, 50400);
        // Greedy: each token is the argmax (below realVocabSize) of its row.
        for (int s = 0; s < 5; s++) {
            int best = 0;
            for (int i = 1; i < 50258; i++) {
                if (logits.data()[s * 50400 + i] > logits.data()[s * 50400 + best]) {
                    best = i;
                }
            }
            assertThat(json.get("tokens").get(s).asInt()).isEqualTo(best);
        }
        Result streamed = run("generate", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--image", image.toString(), "--prompt", "Describe the painting:",
                "--max-out-tokens", "5", "--temperature", "0");
        assertThat(streamed.out()).isEqualTo(json.get("text").asText() + System.lineSeparator());
    }

    @Test
    void benchTimesEveryStage() throws Exception {
        Path model = FIXTURES.resolve("magma/tiny_a");
        Result r = run("bench", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--prompt-tokens", "5", "--new-tokens", "4", "--warmup", "0", "--runs", "2", "--bandwidth-mib", "64", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("config").asText()).isEqualTo("tiny_a");
        assertThat(json.get("prefillTokens").asInt()).isEqualTo(4 + 5);
        assertThat(json.get("decodeSteps").asInt()).isEqualTo(3);
        for (String key : new String[] {"readBandwidthGBps", "loadSeconds", "imageEncodeSeconds", "prefillSeconds",
                "decodeTokensPerSecond", "decodeWeightGBps", "timeToFirstTokenSeconds", "endToEndSeconds", "peakRssBytes",
                "imageEncodeFirstCallSeconds", "imageEncodeSteadySeconds", "coldTimeToFirstTokenSeconds", "coldOverWarmTimeToFirstToken",
                "decodeBandwidthEfficiency"}) {
            assertThat(json.get(key).asDouble()).as(key).isPositive();
        }
        // The bandwidth is the best of the probes, each thread count, pattern and prefetch distance tried.
        double best = 0;
        for (JsonNode probe : json.get("readBandwidthProbes")) {
            best = Math.max(best, probe.get("GBps").asDouble());
        }
        assertThat(json.get("readBandwidthProbes").size()).isGreaterThanOrEqualTo(9).isEqualTo(json.get("readBandwidthProbes").size() / 9 * 9);
        assertThat(json.get("readBandwidthGBps").asDouble()).isEqualTo(best);
        assertThat(json.get("imageEncodeSteadyCalls").asInt()).isEqualTo(7);
        Result session = run("bench", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--prompt-tokens", "5", "--new-tokens", "2", "--warmup", "0", "--runs", "1",
                "--bandwidth-mib", "64", "--questions", "3", "--json");
        assertThat(session.exit()).as(session.err()).isZero();
        JsonNode questions = JSON.readTree(session.out()).get("session");
        assertThat(questions.get("questions").asInt()).isEqualTo(3);
        assertThat(questions.get("firstTimeToFirstTokenSeconds").asDouble()).isPositive();
        assertThat(questions.get("followUpTimeToFirstTokenSeconds").asDouble()).isPositive();
        Result table = run("bench", "--checkpoint", model.resolve("model.pt").toString(), "--model-config",
                model.resolve("config.json").toString(), "--warmup", "0", "--runs", "1", "--new-tokens", "2", "--bandwidth-mib", "64");
        assertThat(table.out()).contains("read bandwidth", "best of ", "prefill (20 tokens)", "decode (1 steps)", "peak RSS",
                "steady", "first run in this JVM");
    }

    @Test
    void errorsAreOneLineWithANonZeroExit(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("absent.pt");
        Result r = run("inspect", missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("magma: ").contains("absent.pt");

        Path notModel = Files.writeString(dir.resolve("notes.txt"), "hello");
        r = run("inspect", notModel.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").contains("notes.txt");

        r = run("generate", "--checkpoint", FIXTURES.resolve("magma/tiny_a/model.pt").toString(), "--config", "magma_v1_500",
                "--model-config", "x.json", "--image", "x.png", "--prompt", "p");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("mutually exclusive");

        r = run("generate", "--checkpoint", FIXTURES.resolve("magma/tiny_a/model.pt").toString(), "--model-config",
                FIXTURES.resolve("magma/tiny_a/config.json").toString(), "--image", dir.resolve("none.png").toString(),
                "--prompt", "p", "--top-p", "1.5");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("--top-p");

        r = run("preprocess", "--image", notModel.toString(), "--out", dir.resolve("o.npy").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").contains("notes.txt");

        r = run("frobnicate");
        assertThat(r.exit()).isEqualTo(2);
    }
}
