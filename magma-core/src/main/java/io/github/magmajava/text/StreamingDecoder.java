package io.github.magmajava.text;

import java.util.Arrays;

/**
 * Turns generated ids into text one at a time. A GPT-2 token may end in the middle of a UTF-8
 * character (emoji and CJK characters often span two or three tokens), so {@link #push}
 * holds such a tail back until the tokens that complete it arrive. The concatenation of every
 * {@code push} and the final {@link #flush} equals {@link Gpt2Tokenizer#decode} of all the ids.
 *
 * <p>One decoder per generated sequence. Not thread-safe: it keeps the held-back bytes.
 */
public final class StreamingDecoder {
    private final Gpt2Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(Gpt2Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one id and returns the text it completes, possibly empty. {@code <|endoftext|>} and
     * {@code <|image|>} add nothing, as in {@link Gpt2Tokenizer#decode}.
     *
     * @throws IllegalArgumentException naming an id outside the vocabulary
     */
    public String push(int id) {
        byte[] token = tokenizer.bytesOf(id, -1);
        if (token.length == 0) {
            return "";
        }
        if (pendingLength + token.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + token.length));
        }
        System.arraycopy(token, 0, pending, pendingLength, token.length);
        pendingLength += token.length;
        return take(Utf8.completePrefixLength(pending, pendingLength));
    }

    /** Whether bytes of an unfinished character are held back: the text so far is not final. */
    public boolean holdsBack() {
        return pendingLength > 0;
    }

    /** Returns what is held back, an unfinished character becoming U+FFFD, and starts afresh. */
    public String flush() {
        return take(pendingLength);
    }

    private String take(int length) {
        if (length == 0) {
            return "";
        }
        StringBuilder out = new StringBuilder(length);
        Utf8.decode(pending, length, out);
        System.arraycopy(pending, length, pending, 0, pendingLength - length);
        pendingLength -= length;
        return out.toString();
    }
}
