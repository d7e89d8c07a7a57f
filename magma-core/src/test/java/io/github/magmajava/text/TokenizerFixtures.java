package io.github.magmajava.text;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The JSON-lines fixtures written by tools/fixtures/tokenizer_corpus.mjs and tokenizer_hf_check.py. */
final class TokenizerFixtures {
    /** One fixture line; {@code decoded} is only in hf_extra.jsonl (the text minus special tokens). */
    record Entry(String text, int[] ids, String decoded) {
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    private TokenizerFixtures() {
    }

    static List<Entry> read(String name) {
        String resource = "/fixtures/tokenizer/" + name;
        try (InputStream in = TokenizerFixtures.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture " + resource + " (regenerate with tools/fixtures/tokenizer_corpus.mjs)");
            }
            List<Entry> entries = new ArrayList<>();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isEmpty()) {
                    entries.add(JSON.readValue(line, Entry.class));
                }
            }
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read fixture " + resource, e);
        }
    }
}
