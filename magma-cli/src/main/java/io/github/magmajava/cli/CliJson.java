package io.github.magmajava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.Generation;
import io.github.magmajava.Magma;
import java.time.Duration;

/** The JSON of an answer, as {@code generate --json} and {@code chat --json} print it. */
final class CliJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private CliJson() {
    }

    /** {@code {"text", "tokens", "promptTokens", "prefillTokens", "imageTokens", "stopReason", "timings"}}. */
    static ObjectNode generation(Generation g, Magma magma) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("text", g.text());
        ArrayNode tokens = root.putArray("tokens");
        for (int t : g.tokens()) {
            tokens.add(t);
        }
        root.put("promptTokens", g.promptTokens());
        root.put("prefillTokens", g.prefillTokens());
        root.put("imageTokens", magma.config().visual().imageTokens());
        root.put("stopReason", g.stopReason().name());
        ObjectNode t = root.putObject("timings");
        t.put("loadSeconds", seconds(magma.loadTime()));
        t.put("preprocessSeconds", seconds(g.timings().preprocess()));
        t.put("imageEncodeSeconds", seconds(g.timings().imageEncode()));
        t.put("prefillSeconds", seconds(g.timings().prefill()));
        t.put("decodeSeconds", seconds(g.timings().decode()));
        t.put("decodeSteps", g.timings().decodeSteps());
        t.put("timeToFirstTokenSeconds", seconds(g.timings().timeToFirstToken()));
        t.put("totalSeconds", seconds(g.timings().total()));
        t.put("decodeTokensPerSecond", g.timings().decodeTokensPerSecond());
        return root;
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}
