package io.github.magmajava.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Arrays;
import java.util.Objects;

/**
 * MAGMA's tokenizer: Hugging Face's {@code GPT2TokenizerFast.from_pretrained("gpt2")} with the
 * added special token {@code <|image|>}, giving the same ids on every text.
 *
 * <p>Plain text is GPT-2's byte-level BPE (50257 tokens), delegated to jtokkit's
 * {@code r50k_base}, which uses GPT-2's pre-tokenisation regex and ranks; docs/tokenizer.md has
 * the evidence that it matches. As in Hugging Face, the literal strings {@code <|endoftext|>}
 * and {@code <|image|>} anywhere in the text become their ids. {@link #encode} adds no BOS or
 * EOS; {@link #decode} drops both special tokens and turns invalid UTF-8 into U+FFFD.
 *
 * <p>Immutable and thread-safe: load once and share.
 */
public final class Gpt2Tokenizer {
    /** {@code <|endoftext|>}: end of sequence, also used as padding. */
    public static final int END_OF_TEXT = 50256;
    /** {@code <|image|>}, the token MAGMA adds for image positions. */
    public static final int IMAGE = 50257;

    private static final String END_OF_TEXT_STRING = "<|endoftext|>";
    private static final String IMAGE_STRING = "<|image|>";
    private static final int VOCABULARY_SIZE = 50258;
    private static final byte[] NO_BYTES = new byte[0];

    private final Encoding bpe;
    /** The UTF-8 bytes of every ordinary token, indexed by id. */
    private final byte[][] tokenBytes;

    private Gpt2Tokenizer(Encoding bpe, byte[][] tokenBytes) {
        this.bpe = bpe;
        this.tokenBytes = tokenBytes;
    }

    /** Loads GPT-2's vocabulary from jtokkit's bundled {@code r50k_base} ranks (under a second). */
    public static Gpt2Tokenizer load() {
        Encoding bpe = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        byte[][] tokenBytes = new byte[END_OF_TEXT][];
        IntArrayList one = new IntArrayList(1);
        one.add(0);
        for (int id = 0; id < END_OF_TEXT; id++) {
            one.set(0, id);
            tokenBytes[id] = bpe.decodeBytes(one);
            if (tokenBytes[id].length == 0) {
                throw new IllegalStateException("jtokkit r50k_base has no bytes for GPT-2 token " + id);
            }
        }
        return new Gpt2Tokenizer(bpe, tokenBytes);
    }

    /**
     * The ids of {@code text}, exactly as MAGMA's Hugging Face tokenizer gives them.
     *
     * @throws IllegalArgumentException if the text holds a lone surrogate, which has no UTF-8
     *     bytes (Hugging Face rejects such strings too)
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        requireWellFormed(text);
        int special = text.indexOf("<|");
        if (special < 0) {
            return bpe.encodeOrdinary(text).toArray();
        }
        IdBuffer ids = new IdBuffer(text.length() / 3 + 8);
        int start = 0;
        while (special >= 0) {
            int id;
            int length;
            if (text.startsWith(END_OF_TEXT_STRING, special)) {
                id = END_OF_TEXT;
                length = END_OF_TEXT_STRING.length();
            } else if (text.startsWith(IMAGE_STRING, special)) {
                id = IMAGE;
                length = IMAGE_STRING.length();
            } else {
                special = text.indexOf("<|", special + 1);
                continue;
            }
            if (special > start) {
                ids.addAll(bpe.encodeOrdinary(text.substring(start, special)));
            }
            ids.add(id);
            start = special + length;
            special = text.indexOf("<|", start);
        }
        if (start < text.length()) {
            ids.addAll(bpe.encodeOrdinary(text.substring(start)));
        }
        return ids.toArray();
    }

    /**
     * The text of {@code ids} without {@code <|endoftext|>} and {@code <|image|>}
     * ({@code skip_special_tokens=True}); bytes that are not valid UTF-8 become U+FFFD.
     *
     * @throws IllegalArgumentException naming the first id outside [0, {@link #vocabularySize()})
     */
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        int length = 0;
        for (int i = 0; i < ids.length; i++) {
            length += bytesOf(ids[i], i).length;
        }
        byte[] bytes = new byte[length];
        int at = 0;
        for (int i = 0; i < ids.length; i++) {
            byte[] token = bytesOf(ids[i], i);
            System.arraycopy(token, 0, bytes, at, token.length);
            at += token.length;
        }
        StringBuilder out = new StringBuilder(length);
        Utf8.decode(bytes, length, out);
        return out.toString();
    }

    /** 50258: GPT-2's 50257 tokens plus {@code <|image|>}, the rows of MAGMA's {@code wte}. */
    public int vocabularySize() {
        return VOCABULARY_SIZE;
    }

    /** A new decoder for one generated sequence; see {@link StreamingDecoder}. */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }

    /** The bytes of one id, empty for the special tokens; {@code position} < 0 when not in an array. */
    byte[] bytesOf(int id, int position) {
        if (id >= 0 && id < END_OF_TEXT) {
            return tokenBytes[id];
        }
        if (id == END_OF_TEXT || id == IMAGE) {
            return NO_BYTES;
        }
        String where = position >= 0 ? "ids[" + position + "] = " + id : "token id " + id;
        throw new IllegalArgumentException(where + " is outside the GPT-2 + <|image|> vocabulary [0, "
                + VOCABULARY_SIZE + ")");
    }

    private static void requireWellFormed(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) {
                continue;
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
                continue;
            }
            throw new IllegalArgumentException(String.format(
                    "text has a lone surrogate U+%04X at index %d; it has no UTF-8 encoding, so GPT-2 cannot tokenize it",
                    (int) c, i));
        }
    }

    /** Growable int array for the ids of texts split around special tokens. */
    private static final class IdBuffer {
        private int[] ids;
        private int size;

        IdBuffer(int capacity) {
            ids = new int[capacity];
        }

        void add(int id) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, ids.length * 2);
            }
            ids[size++] = id;
        }

        void addAll(IntArrayList more) {
            if (size + more.size() > ids.length) {
                ids = Arrays.copyOf(ids, Math.max(ids.length * 2, size + more.size()));
            }
            for (int i = 0; i < more.size(); i++) {
                ids[size++] = more.get(i);
            }
        }

        int[] toArray() {
            return Arrays.copyOf(ids, size);
        }
    }
}
