package io.github.magmajava.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Inputs that break naive tokenizers: one huge pre-tokenizer piece (quadratic BPE), long
 * whitespace runs (regex backtracking), many special-token look-alikes. Each must finish and
 * round-trip. A quadratic step would take minutes at these sizes, far past the timeouts; the
 * 1 MB variants (tag {@code long}, {@code -Plong-tests}) take seconds each with jtokkit.
 */
class Gpt2TokenizerPathologicalTest {
    private static Gpt2Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Gpt2Tokenizer.load();
    }

    static Stream<Arguments> eighthOfAMegabyte() {
        return inputs(1 << 17);
    }

    static Stream<Arguments> megabyte() {
        return inputs(1 << 20);
    }

    private static Stream<Arguments> inputs(int chars) {
        Random random = new Random(7);
        StringBuilder digits = new StringBuilder(chars);
        for (int i = 0; i < chars; i++) {
            digits.append((char) ('0' + random.nextInt(10)));
        }
        return Stream.of(
                Arguments.of("one letter", "a".repeat(chars)),
                Arguments.of("spaces", " ".repeat(chars)),
                Arguments.of("spaces then a word", " ".repeat(chars) + "word"),
                Arguments.of("one digit", "7".repeat(chars)),
                Arguments.of("random digits", digits.toString()),
                Arguments.of("punctuation", "!".repeat(chars)),
                Arguments.of("apostrophes", "'".repeat(chars)),
                Arguments.of("CJK", "猫".repeat(chars / 2)),
                Arguments.of("100k emoji", "😀".repeat(100_000)),
                Arguments.of("alternating whitespace kinds", " \t\n\u00a0\u3000\r\u2003\u0085".repeat(chars / 8)),
                Arguments.of("whitespace before letters", " \t a\n".repeat(chars / 5)),
                Arguments.of("special-token prefixes", "<|".repeat(chars / 2)),
                Arguments.of("special tokens", "<|image|>x<|endoftext|>".repeat(chars / 23)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("eighthOfAMegabyte")
    void eighthOfAMegabyteInputsFinishAndRoundTrip(String name, String text) {
        assertFinishesAndRoundTrips(text, Duration.ofSeconds(10));
    }

    @Tag("long")
    @ParameterizedTest(name = "{0}")
    @MethodSource("megabyte")
    void megabyteInputsFinishAndRoundTrip(String name, String text) {
        assertFinishesAndRoundTrips(text, Duration.ofSeconds(60));
    }

    private static void assertFinishesAndRoundTrips(String text, Duration timeout) {
        int[] ids = assertTimeoutPreemptively(timeout, () -> tokenizer.encode(text));
        String plain = text.replace("<|image|>", "").replace("<|endoftext|>", "");
        assertThat(ids).isNotEmpty();
        assertThat(assertTimeoutPreemptively(timeout, () -> tokenizer.decode(ids))).isEqualTo(plain);
    }
}
