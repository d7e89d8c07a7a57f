package io.github.magmajava.cli;

import static io.github.magmajava.cli.MagmaCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code magma chat} driven through its standard input: answers equal {@code generate}'s. */
class ChatCommandTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY = FIXTURES.resolve("magma/tiny_b");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String IMAGE = FIXTURES.resolve("image/src/rgb_430x400.png").toString();
    private static final String OTHER = FIXTURES.resolve("image/src/rgb_97x61.png").toString();

    private static MagmaCliTest.Result chat(String stdin, String... extra) {
        List<String> args = new ArrayList<>(List.of("chat", "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--image", IMAGE, "--max-out-tokens", "5"));
        args.addAll(List.of(extra));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MagmaCli.run(args.toArray(String[]::new), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), out, err);
        return new MagmaCliTest.Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static JsonNode generate(String image, String prompt, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--image", image, "--prompt", prompt, "--max-out-tokens", "5", "--json"));
        args.addAll(List.of(extra));
        MagmaCliTest.Result r = run(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        return JSON.readTree(r.out());
    }

    @Test
    void answersEqualGenerateAcrossImagesAndSettings() throws Exception {
        MagmaCliTest.Result r = chat(String.join("\n", "A picture of", "", "Describe the painting:", "/set temperature 0",
                "/set top-k 5", "A picture of", "/image " + OTHER, "A picture of", "/quit", "never asked") + "\n", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> answers = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) {
            answers.add(JSON.readTree(line));
        }
        assertThat(answers).hasSize(4);
        JsonNode[] expected = {
            generate(IMAGE, "A picture of"),
            generate(IMAGE, "Describe the painting:"),
            generate(IMAGE, "A picture of", "--temperature", "0", "--top-k", "5"),
            generate(OTHER, "A picture of", "--temperature", "0", "--top-k", "5")};
        for (int i = 0; i < answers.size(); i++) {
            assertThat(answers.get(i).get("tokens")).as("answer %d", i).isEqualTo(expected[i].get("tokens"));
            assertThat(answers.get(i).get("text")).isEqualTo(expected[i].get("text"));
            assertThat(answers.get(i).get("promptTokens")).isEqualTo(expected[i].get("promptTokens"));
        }
        int imageTokens = answers.get(0).get("imageTokens").asInt();
        // the first question of each image runs its positions; the others only their prompt
        assertThat(answers.get(0).get("prefillTokens").asInt()).isEqualTo(imageTokens + answers.get(0).get("promptTokens").asInt());
        assertThat(answers.get(1).get("prefillTokens").asInt()).isEqualTo(answers.get(1).get("promptTokens").asInt());
        assertThat(answers.get(2).get("prefillTokens").asInt()).isEqualTo(answers.get(2).get("promptTokens").asInt());
        assertThat(answers.get(3).get("prefillTokens").asInt()).isEqualTo(imageTokens + answers.get(3).get("promptTokens").asInt());
        assertThat(answers.get(0).get("timings").get("timeToFirstTokenSeconds").asDouble()).isPositive();
    }

    @Test
    void streamsAnswersAndReportsCommandErrorsWithoutEndingTheChat() throws Exception {
        MagmaCliTest.Result r = chat(String.join("\n", "/set temperature -1", "/set colour blue", "/image /no/such.png", "/frobnicate",
                "/help", "A picture of") + "\n");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(generate(IMAGE, "A picture of").get("text").asText() + System.lineSeparator());
        assertThat(r.err()).contains("magma: Invalid value for option '--temperature'")
                .contains("unknown setting 'colour'")
                .contains("/no/such.png")
                .contains("unknown command /frobnicate")
                .contains("/conversation on|off")
                .contains("first token");
    }

    @Test
    void conversationCarriesEarlierQuestionsAndAnswers() throws Exception {
        MagmaCliTest.Result r = chat("A picture of\nand\n/reset\nand\n", "--json", "--conversation", "--temperature", "0");
        assertThat(r.exit()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(3);
        JsonNode first = JSON.readTree(lines[0]);
        JsonNode second = JSON.readTree(lines[1]);
        JsonNode afterReset = JSON.readTree(lines[2]);
        String carried = "A picture of" + first.get("text").asText() + "\nand";
        assertThat(second.get("tokens")).isEqualTo(generate(IMAGE, carried, "--temperature", "0").get("tokens"));
        assertThat(afterReset.get("tokens")).isEqualTo(generate(IMAGE, "and", "--temperature", "0").get("tokens"));
    }

    @Test
    void setReadsValuesAsTheCommandLineDoes() {
        SamplingOptions o = ChatCommand.set(SamplingOptions.defaults(), "top-p", "0.5");
        assertThat(o.topP()).isEqualTo(0.5f);
        assertThat(ChatCommand.set(o, "max-out-tokens", "9").maxNewTokens()).isEqualTo(9);
        assertThat(ChatCommand.set(o, "seed", "7").seed()).isEqualTo(7);
    }
}
