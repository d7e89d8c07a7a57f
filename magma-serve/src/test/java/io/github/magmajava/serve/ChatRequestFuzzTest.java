package io.github.magmajava.serve;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Coverage-guided fuzzing (Jazzer) of a chat request body as the server reads it:
 * {@link MagmaServer#parseBody} (Jackson's tree, the server's limits), then {@link ChatRequest#parse}
 * (docs/security.md, "Fuzzing"). Invariant: the only exception is an {@link ApiError} of a 4xx
 * status; anything else escaping would be the server's 500, or its "client went away".
 */
class ChatRequestFuzzTest {
    private static final ServeOptions OPTIONS = ServeOptions.defaults();
    private static final ObjectMapper JSON = MagmaServer.requestMapper(OPTIONS);

    @FuzzTest
    void parse(byte[] body) {
        try {
            JsonNode tree = MagmaServer.parseBody(JSON, body);
            ChatRequest.parse(tree, "magma_v1_500", 2048, OPTIONS.sampling(), OPTIONS);
        } catch (ApiError e) {
            if (e.status < 400 || e.status >= 500) {
                throw new AssertionError("a " + e.status + " for a request: " + e.getMessage(), e);
            }
        }
    }
}
