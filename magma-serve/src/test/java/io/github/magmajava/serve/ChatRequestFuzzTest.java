package io.github.magmajava.serve;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Coverage-guided fuzzing (Jazzer) of a chat request body as the server reads it: Jackson's tree,
 * then {@link ChatRequest#parse} (docs/security.md, "Fuzzing"). Invariants: a body that is not
 * JSON fails in Jackson (the server's 400), one that is fails only with an {@link ApiError} of a
 * 4xx status; nothing else escapes (the server would answer 500).
 */
class ChatRequestFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ServeOptions OPTIONS = ServeOptions.defaults();

    @FuzzTest
    void parse(byte[] body) throws IOException {
        JsonNode tree;
        try {
            tree = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            return;
        }
        try {
            ChatRequest.parse(tree, "magma_v1_500", 2048, OPTIONS.sampling(), OPTIONS);
        } catch (ApiError e) {
            if (e.status < 400 || e.status >= 500) {
                throw new AssertionError("a " + e.status + " for a request: " + e.getMessage(), e);
            }
        }
    }
}
