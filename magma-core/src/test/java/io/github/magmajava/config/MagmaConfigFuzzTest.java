package io.github.magmajava.config;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link MagmaConfig#fromJson(String)} (docs/security.md,
 * "Fuzzing"). Invariants: the only exception is {@link ConfigException} with a message; an
 * accepted config survives {@code toJson} and reads back equal; a parse allocates at most
 * {@link AllocationBound#FACTOR} x its input plus the fixed allowance.
 */
class MagmaConfigFuzzTest {
    @FuzzTest
    void fromJson(FuzzedDataProvider data) throws Exception {
        String json = data.consumeRemainingAsString();
        AllocationBound.check("a config", 2L * json.length(), () -> {
            MagmaConfig config;
            try {
                config = MagmaConfig.fromJson(json);
            } catch (ConfigException e) {
                if (e.getMessage() == null || e.getMessage().isBlank()) {
                    throw new AssertionError("a ConfigException without a message", e);
                }
                return;
            }
            MagmaConfig again = MagmaConfig.fromJson(config.toJson());
            if (!again.equals(config)) {
                throw new AssertionError("a config reads back different: " + config + " -> " + again);
            }
        });
    }
}
