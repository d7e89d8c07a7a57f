package io.github.magmajava.text;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.text.TokenizerFixtures.Entry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every fixture text against the reference ids: js-tiktoken r50k_base, equal to gpt-3-encoder
 * (OpenAI's encoder.py algorithm) and to Hugging Face tokenizers as MAGMA configures them.
 */
class Gpt2TokenizerCorpusTest {
    private static Gpt2Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Gpt2Tokenizer.load();
    }

    @Test
    void corpusEncodesToTheReferenceIdsAndDecodesBack() {
        List<Entry> corpus = TokenizerFixtures.read("corpus.jsonl");
        assertThat(corpus).hasSizeGreaterThan(2000);
        List<String> failures = new ArrayList<>();
        for (Entry e : corpus) {
            int[] ids = tokenizer.encode(e.text());
            if (!Arrays.equals(ids, e.ids())) {
                failures.add("encode " + quoted(e.text()) + ": expected " + Arrays.toString(e.ids()) + ", got " + Arrays.toString(ids));
            }
            String text = tokenizer.decode(e.ids());
            if (!text.equals(e.text())) {
                failures.add("decode " + Arrays.toString(e.ids()) + ": expected " + quoted(e.text()) + ", got " + quoted(text));
            }
        }
        assertThat(failures).isEmpty();
    }

    /** U+0085 and U+FEFF (where JavaScript's \s is not GPT-2's) and literal special tokens. */
    @Test
    void huggingFaceOnlyTextsMatchHuggingFace() {
        List<Entry> extra = TokenizerFixtures.read("hf_extra.jsonl");
        assertThat(extra).hasSizeGreaterThan(40);
        for (Entry e : extra) {
            assertThat(tokenizer.encode(e.text())).as("encode %s", quoted(e.text())).containsExactly(e.ids());
            assertThat(tokenizer.decode(e.ids())).as("decode %s", Arrays.toString(e.ids())).isEqualTo(e.decoded());
        }
    }

    /** Random ids, many cutting or corrupting UTF-8: one U+FFFD per maximal ill-formed subpart. */
    @Test
    void arbitraryIdsDecodeLikeALossyUtf8Decoder() {
        List<Entry> sequences = TokenizerFixtures.read("decode.jsonl");
        assertThat(sequences).hasSizeGreaterThan(300);
        for (Entry e : sequences) {
            assertThat(tokenizer.decode(e.ids())).as("decode %s", Arrays.toString(e.ids())).isEqualTo(e.text());
        }
    }

    @Test
    void streamingTheCorpusTokenByTokenGivesTheSameText() {
        List<Entry> all = new ArrayList<>(TokenizerFixtures.read("corpus.jsonl"));
        all.addAll(TokenizerFixtures.read("decode.jsonl"));
        for (Entry e : all) {
            StreamingDecoder decoder = tokenizer.streamingDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : e.ids()) {
                streamed.append(decoder.push(id));
            }
            streamed.append(decoder.flush());
            assertThat(streamed.toString()).as("streaming %s", Arrays.toString(e.ids())).isEqualTo(e.text());
        }
    }

    private static String quoted(String s) {
        StringBuilder out = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F) {
                out.append((char) cp);
            } else {
                out.append(String.format("\\u{%X}", cp));
            }
        });
        return out.append('"').toString();
    }
}
