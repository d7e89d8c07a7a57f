package io.github.magmajava.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.text.TokenizerFixtures.Entry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class Gpt2TokenizerTest {
    private static final int HELLO = 15496;
    private static final int SPACE_WORLD = 995;
    /** "😀" is F0 9F 98 | 80; "猫" is E7 | 8C | AB. */
    private static final int[] GRINNING_FACE = {47249, 222};
    private static final int[] CAT = {163, 234, 104};

    private static Gpt2Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Gpt2Tokenizer.load();
    }

    @Test
    void vocabularyIsGpt2PlusTheImageToken() {
        assertThat(tokenizer.vocabularySize()).isEqualTo(50258);
        assertThat(Gpt2Tokenizer.END_OF_TEXT).isEqualTo(50256);
        assertThat(Gpt2Tokenizer.IMAGE).isEqualTo(50257);
    }

    @Test
    void encodeAddsNoBeginningOrEndToken() {
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.encode("Hello world")).containsExactly(HELLO, SPACE_WORLD);
    }

    static Stream<Arguments> specialTokens() {
        int eot = Gpt2Tokenizer.END_OF_TEXT;
        int image = Gpt2Tokenizer.IMAGE;
        return Stream.of(
                Arguments.of("<|image|>", new int[] {image}),
                Arguments.of("<|endoftext|>", new int[] {eot}),
                Arguments.of("<|image|>Hello world", new int[] {image, HELLO, SPACE_WORLD}),
                Arguments.of("Hello<|image|> world", new int[] {HELLO, image, SPACE_WORLD}),
                Arguments.of("Hello world<|endoftext|>", new int[] {HELLO, SPACE_WORLD, eot}),
                Arguments.of("<|image|><|image|>", new int[] {image, image}),
                Arguments.of("<|endoftext|><|image|><|endoftext|>", new int[] {eot, image, eot}),
                Arguments.of("Hello<|endoftext|><|image|> world", new int[] {HELLO, eot, image, SPACE_WORLD}),
                // The text between special tokens is tokenized on its own: "<|" stays two tokens.
                Arguments.of("<|<|image|>", new int[] {27, 91, image}),
                Arguments.of("<|image|>|>", new int[] {image, 91, 29}));
    }

    @ParameterizedTest
    @MethodSource("specialTokens")
    void specialTokenStringsInTextBecomeTheirIds(String text, int[] ids) {
        assertThat(tokenizer.encode(text)).containsExactly(ids);
    }

    @ParameterizedTest
    @ValueSource(strings = {"<|image|", "<|image", "|image|>", "<|IMAGE|>", "<| image |>", "<|endoftext", "<|endoftext|",
        "<image|>", "<|end of text|>"})
    void partialOrAlteredSpecialTokensStayPlainText(String text) {
        int[] ids = tokenizer.encode(text);
        assertThat(ids).doesNotContain(Gpt2Tokenizer.END_OF_TEXT, Gpt2Tokenizer.IMAGE);
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    @Test
    void partialImageTokenIsBpeOfItsCharacters() {
        assertThat(tokenizer.encode("<|image")).containsExactly(27, 91, 9060);
    }

    @Test
    void decodeDropsSpecialTokens() {
        int[] ids = {Gpt2Tokenizer.IMAGE, Gpt2Tokenizer.IMAGE, HELLO, Gpt2Tokenizer.END_OF_TEXT, SPACE_WORLD, Gpt2Tokenizer.END_OF_TEXT};
        assertThat(tokenizer.decode(ids)).isEqualTo("Hello world");
        assertThat(tokenizer.decode(tokenizer.encode("<|image|>A painting of<|endoftext|>"))).isEqualTo("A painting of");
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 50258, 50400, Integer.MAX_VALUE, Integer.MIN_VALUE})
    void decodeRejectsIdsOutsideTheVocabularyNamingThem(int id) {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {HELLO, SPACE_WORLD, id}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ids[2] = " + id)
                .hasMessageContaining("[0, 50258)");
        assertThatThrownBy(() -> tokenizer.streamingDecoder().push(id))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id " + id);
    }

    static Stream<Arguments> loneSurrogates() {
        return Stream.of(
                Arguments.of("a\uD800b", 1),
                Arguments.of("\uDC00", 0),
                Arguments.of("x\uD83D", 1),
                Arguments.of("\uDE00\uD83D", 0),
                Arguments.of("ok 😀 then \uDBFF", 11));
    }

    @ParameterizedTest
    @MethodSource("loneSurrogates")
    void encodeRejectsLoneSurrogatesNamingWhere(String text, int index) {
        assertThatThrownBy(() -> tokenizer.encode(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.format("U+%04X at index %d", (int) text.charAt(index), index));
    }

    @Test
    void surrogatePairsAreFine() {
        assertThat(tokenizer.encode("😀")).containsExactly(GRINNING_FACE);
    }

    @Test
    void streamingHoldsBackAnEmojiUntilItsLastByte() {
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertThat(decoder.push(HELLO)).isEqualTo("Hello");
        assertThat(decoder.push(GRINNING_FACE[0])).isEmpty();
        assertThat(decoder.push(GRINNING_FACE[1])).isEqualTo("😀");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void streamingHoldsBackACjkCharacterSplitOverThreeTokens() {
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertThat(decoder.holdsBack()).isFalse();
        assertThat(decoder.push(CAT[0])).isEmpty();
        assertThat(decoder.holdsBack()).isTrue();
        assertThat(decoder.push(CAT[1])).isEmpty();
        assertThat(decoder.push(CAT[2])).isEqualTo("猫");
        assertThat(decoder.holdsBack()).isFalse();
    }

    @Test
    void streamingSkipsSpecialTokensWithoutLosingHeldBytes() {
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertThat(decoder.push(GRINNING_FACE[0])).isEmpty();
        assertThat(decoder.push(Gpt2Tokenizer.IMAGE)).isEmpty();
        assertThat(decoder.push(Gpt2Tokenizer.END_OF_TEXT)).isEmpty();
        assertThat(decoder.push(GRINNING_FACE[1])).isEqualTo("😀");
    }

    @Test
    void streamingReplacesABrokenSequenceOnceTheNextByteShowsIt() {
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertThat(decoder.push(GRINNING_FACE[0])).isEmpty();
        assertThat(decoder.push(87)).isEqualTo("\uFFFDx");
        assertThat(tokenizer.decode(new int[] {GRINNING_FACE[0], 87})).isEqualTo("\uFFFDx");
    }

    @Test
    void flushReplacesAnUnfinishedCharacterAndStartsAfresh() {
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        assertThat(decoder.push(CAT[0])).isEmpty();
        assertThat(decoder.push(CAT[1])).isEmpty();
        assertThat(decoder.flush()).isEqualTo("\uFFFD");
        assertThat(decoder.flush()).isEmpty();
        assertThat(decoder.push(HELLO)).isEqualTo("Hello");
    }

    /** Random ids, half of them pieces of multi-byte characters: streaming always equals decode. */
    @Test
    void streamingEqualsDecodeOnRandomIdSequences() {
        int[] pieces = {GRINNING_FACE[0], GRINNING_FACE[1], CAT[0], CAT[1], CAT[2], 30266, 109, 12859, 105, 41840, 447, 235,
            Gpt2Tokenizer.IMAGE, Gpt2Tokenizer.END_OF_TEXT};
        Random random = new Random(42);
        for (int run = 0; run < 2000; run++) {
            int[] ids = new int[1 + random.nextInt(20)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextBoolean() ? pieces[random.nextInt(pieces.length)] : random.nextInt(50258);
            }
            StreamingDecoder decoder = tokenizer.streamingDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) {
                streamed.append(decoder.push(id));
            }
            streamed.append(decoder.flush());
            assertThat(streamed.toString()).as("ids %s", Arrays.toString(ids)).isEqualTo(tokenizer.decode(ids));
        }
    }

    @Test
    void encodingFromManyThreadsAtOnceGivesTheSameIds() throws Exception {
        List<String> texts = TokenizerFixtures.read("corpus.jsonl").stream().map(Entry::text).toList();
        List<int[]> expected = texts.stream().map(tokenizer::encode).toList();
        int threads = 8;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Callable<List<String>>> jobs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t * 97;
                jobs.add(() -> {
                    List<String> mismatches = new ArrayList<>();
                    for (int round = 0; round < 2; round++) {
                        for (int k = 0; k < texts.size(); k++) {
                            int i = (k + offset) % texts.size();
                            if (!Arrays.equals(tokenizer.encode(texts.get(i)), expected.get(i))) {
                                mismatches.add(texts.get(i));
                            }
                        }
                    }
                    return mismatches;
                });
            }
            for (Future<List<String>> result : pool.invokeAll(jobs)) {
                assertThat(result.get()).isEmpty();
            }
        }
    }

    @Test
    void theFirstIdDecodes() {
        // id 0 is "!", the first byte-level token of r50k_base
        assertThat(tokenizer.decode(new int[] {0})).isEqualTo("!");
        assertThat(tokenizer.encode("!")).containsExactly(0);
    }

    @Test
    void anIdOutsideTheVocabularyAtIndexZeroIsNamedByItsIndex() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {50258}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ids[0] = 50258 is outside the GPT-2 + <|image|> vocabulary [0, 50258)");
    }

    /**
     * Text of three ids per character ("猫" is three byte tokens) between special tokens: far more
     * ids than characters, so the id buffer grows both while adding the text and for the special
     * token after it. Every id must survive the growth.
     */
    @Test
    void textOfManyIdsPerCharacterBetweenSpecialTokens() {
        String cats = "猫".repeat(100);
        int[] catIds = tokenizer.encode(cats);
        assertThat(catIds).hasSize(300);
        for (int i = 0; i < catIds.length; i += 3) {
            assertThat(Arrays.copyOfRange(catIds, i, i + 3)).as("cat %d", i / 3).containsExactly(CAT);
        }
        int eot = Gpt2Tokenizer.END_OF_TEXT;
        int image = Gpt2Tokenizer.IMAGE;
        int[] expected = new int[302 + 2];
        expected[0] = image;
        System.arraycopy(catIds, 0, expected, 1, 300);
        expected[301] = eot;
        expected[302] = HELLO;
        expected[303] = eot;
        assertThat(tokenizer.encode("<|image|>" + cats + "<|endoftext|>Hello<|endoftext|>")).containsExactly(expected);
    }
}
