package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a {@link TokenListener} is told: every token once, the pieces making up the answer; and how it stops a generation. */
class TokenListenerTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"), "magma");

    private static Magma load(String name) throws IOException {
        Path dir = FIXTURES.resolve(name);
        return Magma.load(dir.resolve("model.pt"), MagmaConfig.fromJson(dir.resolve("config.json")));
    }

    private static ImageInput image(String name, Magma magma) throws IOException {
        return ImageInput.preprocessed(new PreprocessedImage(magma.config().visual().imageResolution(),
                Npy.read(FIXTURES.resolve(name).resolve("image.npy")).data()));
    }

    /**
     * tiny_b answers "of cat 92" greedily with two tokens that end inside a multi-byte character,
     * so the decoder's final flush has text (U+FFFD): it comes with the last token, told once.
     */
    @Test
    void everyTokenIsToldOnceWhenTheAnswerEndsInsideACharacter() throws IOException {
        try (Magma magma = load("tiny_b")) {
            List<Integer> ids = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            GenerationRequest request = new GenerationRequest(image("tiny_b", magma), "of cat 92",
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(2), false);
            Generation g = magma.generate(request, (id, piece) -> {
                ids.add(id);
                text.append(piece);
            });
            assertThat(g.text()).as("the case under test: the answer ends inside a character").endsWith("\uFFFD");
            assertThat(ids).containsExactly(java.util.Arrays.stream(g.tokens()).boxed().toArray(Integer[]::new));
            assertThat(text.toString()).isEqualTo(g.text());
        }
    }

    @Test
    void aListenerStopsTheGenerationByThrowing() throws IOException {
        try (Magma magma = load("tiny_a")) {
            RuntimeException stop = new IllegalStateException("enough");
            List<Integer> told = new ArrayList<>();
            GenerationRequest request = new GenerationRequest(image("tiny_a", magma), "A picture of",
                    SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(20), false);
            assertThatThrownBy(() -> magma.generate(request, (id, piece) -> {
                told.add(id);
                throw stop;
            })).isSameAs(stop);
            assertThat(told).hasSize(1);
        }
    }
}
