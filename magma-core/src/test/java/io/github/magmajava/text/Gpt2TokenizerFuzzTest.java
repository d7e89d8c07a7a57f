package io.github.magmajava.text;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link Gpt2Tokenizer}: {@code encode} of arbitrary strings,
 * {@code decode} of arbitrary ids (docs/security.md, "Fuzzing").
 *
 * <p>Invariants: {@code encode} throws only the documented IllegalArgumentException (a lone
 * surrogate), gives ids in [0, vocabulary) and round-trips through {@code decode} unless the text
 * names a special token; {@code decode} throws only IllegalArgumentException naming an id outside
 * the vocabulary. Each allocates at most {@link AllocationBound#FACTOR} x its input plus the
 * fixed allowance.
 */
class Gpt2TokenizerFuzzTest {
    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.load();

    @FuzzTest
    void encode(FuzzedDataProvider data) throws Exception {
        String text = data.consumeRemainingAsString();
        AllocationBound.check("encode", 2L * text.length(), () -> {
            int[] ids;
            try {
                ids = TOKENIZER.encode(text);
            } catch (IllegalArgumentException e) {
                if (wellFormed(text)) {
                    throw new AssertionError("a well-formed text refused: " + e.getMessage(), e);
                }
                return;
            }
            for (int id : ids) {
                if (id < 0 || id >= TOKENIZER.vocabularySize()) {
                    throw new AssertionError("id " + id + " outside the vocabulary");
                }
            }
            if (!text.contains("<|endoftext|>") && !text.contains("<|image|>")) {
                String back = TOKENIZER.decode(ids);
                if (!back.equals(text)) {
                    throw new AssertionError("decode(encode(text)) differs: " + escape(text) + " -> " + escape(back));
                }
            }
        });
    }

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

    private static boolean wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> out.append(c < 0x20 || c > 0x7e ? String.format("\\u{%x}", c) : Character.toString(c)));
        return out.toString();
    }
}
