package io.github.magmajava.cli;

import static io.github.magmajava.cli.MagmaCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.cli.MagmaCliTest.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code plan}, and {@code generate} / {@code bench} with {@code --backend ipu}. */
class IpuCommandsTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path TINY = FIXTURES.resolve("magma/tiny_a");
    private static final String IMAGE = FIXTURES.resolve("image/src/rgb_430x400.png").toString();

    private static Result generate(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("generate", "--checkpoint", TINY.resolve("model.pt").toString(),
                "--model-config", TINY.resolve("config.json").toString(), "--image", IMAGE, "--prompt", "A picture of",
                "--temperature", "0", "--max-out-tokens", "6", "--json"));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void planPrintsTheTableAndJsonAndExitsOneWhenItDoesNotFit() throws Exception {
        Result table = run("plan", "--config", "magma_v1_1024", "--devices", "4", "--device", "ipu-mk2");
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(table.out()).contains("magma_v1_1024 on 4 x ipu-mk2", "block 27", "lm head", "fits");

        Result json = run("plan", "--config", "magma_v1_1024", "--json");
        assertThat(json.exit()).isZero();
        JsonNode plan = JSON.readTree(json.out());
        assertThat(plan.get("devices").asInt()).isEqualTo(4);
        assertThat(plan.get("deviceMemoryBytes").asLong()).isEqualTo(1472L * 624 * 1024);
        assertThat(plan.get("fits").asBoolean()).isTrue();
        assertThat(plan.get("phases")).hasSize(1 + 1 + 28 + 1);
        for (String field : List.of("remoteMemoryBytes", "streamedBytesPerToken")) {
            assertThat(plan.get(field).asLong()).as(field).isPositive();
        }
        JsonNode block = plan.get("phases").get(2);
        assertThat(block.get("name").asText()).isEqualTo("block 0");
        assertThat(block.get("totalBytesPerDevice").asLong()).isEqualTo(block.get("weightBytesPerDevice").asLong()
                + block.get("activationBytesPerDevice").asLong() + block.get("kvCacheBytesPerDevice").asLong());

        Result tight = run("plan", "--config", "magma_v1_1024", "--device-memory", "200MB", "--json");
        assertThat(tight.exit()).isEqualTo(1);
        assertThat(JSON.readTree(tight.out()).get("fits").asBoolean()).isFalse();
        assertThat(tight.err()).startsWith("magma: phase 'image prefix' needs ").contains("has 200000000").doesNotContain("\n\n");

        Result static8 = run("plan", "--model-config", TINY.resolve("config.json").toString(), "--sequence-mode", "static",
                "--weights", "q8", "--device", "host", "--json");
        assertThat(static8.exit()).as(static8.err()).isZero();
        assertThat(JSON.readTree(static8.out()).get("deviceMemoryBytes").isNull()).isTrue();
    }

    @Test
    void planRefusesImpossibleLayoutsWithUsageErrors() {
        Result three = run("plan", "--config", "magma_v1_1024", "--devices", "3");
        assertThat(three.exit()).isEqualTo(2);
        assertThat(three.err()).contains("3 devices do not divide the 16 attention heads of config 'magma_v1_1024': use 1, 2, 4, 8, 16");
        Result zero = run("plan", "--config", "magma_v1_1024", "--devices", "0");
        assertThat(zero.exit()).isEqualTo(2);
        assertThat(zero.err()).contains("--devices").contains("must be >= 1, found 0");
        Result device = run("plan", "--config", "magma_v1_1024", "--device", "gpu");
        assertThat(device.exit()).isEqualTo(2);
        assertThat(device.err()).contains("unknown device 'gpu', expected one of ipu-mk2, bow, host");
        Result size = run("plan", "--config", "magma_v1_1024", "--device-memory", "lots");
        assertThat(size.exit()).isEqualTo(2);
        assertThat(size.err()).contains("--device-memory").contains("'lots' is not a size");
    }

    @Test
    void generateOnTheIpuBackendGivesTheCpuBackendsTokens() throws Exception {
        Result cpu = generate();
        assertThat(cpu.exit()).as(cpu.err()).isZero();
        JsonNode expected = JSON.readTree(cpu.out()).get("tokens");
        for (String[] layout : new String[][] {{"--backend", "ipu", "--devices", "4"},
                {"--backend", "ipu", "--devices", "2", "--sequence-mode", "static", "--device", "bow"},
                {"--sequence-mode", "static"}}) {
            Result r = generate(layout);
            assertThat(r.exit()).as(String.join(" ", layout) + ": " + r.err()).isZero();
            assertThat(JSON.readTree(r.out()).get("tokens")).as(String.join(" ", layout)).isEqualTo(expected);
        }
        Result cpuOnly = generate("--devices", "2");
        assertThat(cpuOnly.exit()).isEqualTo(2);
        assertThat(cpuOnly.err()).contains("--devices applies to --backend ipu");
        Result tooSmall = generate("--backend", "ipu", "--device-memory", "64KiB");
        assertThat(tooSmall.exit()).isEqualTo(1);
        assertThat(tooSmall.err()).startsWith("magma: phase '").contains("the ipu-mk2 has 65536");
    }

    @Test
    void benchOnTheIpuBackendReportsPhasesBesideTheCpuBackend() throws Exception {
        Result r = run("bench", "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--prompt-tokens", "3", "--new-tokens", "3", "--warmup", "0", "--runs", "1",
                "--bandwidth-mib", "64", "--backend", "ipu", "--devices", "2", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("backend").asText()).isEqualTo("ipu");
        assertThat(json.get("cpu").get("backend").asText()).isEqualTo("cpu");
        JsonNode ipu = json.get("ipu");
        assertThat(ipu.get("devices").asInt()).isEqualTo(2);
        // 2 blocks x 2 + the embedding's 1, for the prompt and 2 decode steps
        assertThat(ipu.get("allReducesPerToken").asInt()).isEqualTo(5);
        assertThat(ipu.get("allReducesPerRun").asLong()).isEqualTo(15);
        assertThat(ipu.get("phases")).hasSize(4);
        long staged = 0;
        for (JsonNode p : ipu.get("phases")) {
            assertThat(p.get("computeSecondsPerRun").asDouble()).as(p.get("phase").asText()).isPositive();
            staged += p.get("stagedBytesPerRun").asLong();
        }
        assertThat(staged).isGreaterThan(3 * ipu.get("stagedBytesPerToken").asLong());
        Result table = run("bench", "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--new-tokens", "2", "--warmup", "0", "--runs", "1", "--bandwidth-mib", "64",
                "--backend", "ipu");
        assertThat(table.out()).contains("cpu backend", "ipu backend", "blocks (2)", "staging s", "all-reduces");
    }
}
