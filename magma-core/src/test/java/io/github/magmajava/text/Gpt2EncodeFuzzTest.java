package io.github.magmajava.text;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link Gpt2Tokenizer#encode} on arbitrary strings
 * (docs/security.md, "Fuzzing"). Invariants: the only exception is the documented
 * IllegalArgumentException, for a lone surrogate only; every id is in [0, vocabulary); the ids
 * decode back to the text unless it names a special token; an encode allocates at most
 * {@link AllocationBound#FACTOR} x the text's UTF-16 bytes plus {@link AllocationBound#ALLOWANCE}.
 */
class Gpt2EncodeFuzzTest {
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
