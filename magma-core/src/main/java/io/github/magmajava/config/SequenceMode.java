package io.github.magmajava.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a generation feeds its positions to the language model. */
public enum SequenceMode {
    /** Ours: the prompt once, then each new token alone against a cache of keys and values. */
    KV_CACHE,
    /**
     * The seed's: no cache; the image and the text, right-padded with end-of-text to the config's
     * sequence length, run whole for every new token, the next token read at the last real row.
     * Same tokens, a fixed shape per step (what a compiled device program wants), far more compute.
     */
    STATIC;

    /** The command-line spelling: {@code kv-cache}, {@code static}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** @throws IllegalArgumentException naming the accepted values */
    public static SequenceMode parse(String value) {
        for (SequenceMode mode : values()) {
            if (mode.cliName().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown sequence mode '" + value + "', expected one of "
                + Arrays.stream(values()).map(SequenceMode::cliName).collect(Collectors.joining(", ")));
    }
}
