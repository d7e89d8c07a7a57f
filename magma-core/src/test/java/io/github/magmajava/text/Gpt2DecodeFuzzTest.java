package io.github.magmajava.text;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link Gpt2Tokenizer#decode} on arbitrary ids
 * (docs/security.md, "Fuzzing"). Invariants: ids all in [0, vocabulary) decode; any other id is
 * refused with the documented IllegalArgumentException and nothing else; a decode allocates at
 * most {@link AllocationBound#FACTOR} x the ids' bytes plus {@link AllocationBound#ALLOWANCE}.
 */
class Gpt2DecodeFuzzTest {
    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.load();

    @FuzzTest
    void decode(FuzzedDataProvider data) throws Exception {
        int[] ids = data.consumeInts(4096);
        boolean inRange = Arrays.stream(ids).allMatch(id -> id >= 0 && id < TOKENIZER.vocabularySize());
        AllocationBound.check("decode", 4L * ids.length, () -> {
            try {
                TOKENIZER.decode(ids);
            } catch (IllegalArgumentException e) {
                if (inRange) {
                    throw new AssertionError("valid ids refused: " + e.getMessage(), e);
                }
                return;
            }
            if (!inRange) {
                throw new AssertionError("an id outside the vocabulary was decoded");
            }
        });
    }
}
