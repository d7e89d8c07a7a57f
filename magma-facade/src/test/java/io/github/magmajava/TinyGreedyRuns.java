package io.github.magmajava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;

/**
 * Eight greedy steps on a tiny PyTorch fixture, and how two such runs of one model in different
 * numerics (q8 weights, bf16 prefill) compare: the steps whose tokens agree, and the worst logit
 * difference over those steps (a step's logits are comparable while the tokens before it agree).
 */
final class TinyGreedyRuns {
    static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"), "magma");
    static final int STEPS = 8;

    private TinyGreedyRuns() {
    }

    /** The fixture's prompt and image, {@link #STEPS} argmax tokens, tensors captured. */
    static Generation greedy(Magma magma, String fixture) throws IOException {
        JsonNode prompt = new ObjectMapper().readTree(FIXTURES.resolve(fixture).resolve("prompt_ids.json").toFile());
        Npy.NpyArray image = Npy.read(FIXTURES.resolve(fixture).resolve("image.npy"));
        SamplingOptions argmax = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(STEPS);
        return magma.generate(new GenerationRequest(ImageInput.preprocessed(
                new PreprocessedImage(magma.config().visual().imageResolution(), image.data())),
                prompt.get("text").asText(), argmax, true), TokenListener.NONE);
    }

    /** PyTorch's greedy tokens for the fixture (greedy.json). */
    static int[] pytorchTokens(String fixture) throws IOException {
        return StreamSupport.stream(new ObjectMapper().readTree(FIXTURES.resolve(fixture).resolve("greedy.json").toFile())
                .get("tokens").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    /**
     * @param agreeingSteps leading steps whose tokens are equal
     * @param worstError    max |reference - other| logit over the comparable steps
     * @param scale         max |reference logit| over the same steps
     */
    record Comparison(int agreeingSteps, double worstError, double scale) {
        double relativeError() {
            return worstError / scale;
        }
    }

    static Comparison compare(Generation reference, Generation other) {
        int agree = 0;
        while (agree < STEPS && other.tokens()[agree] == reference.tokens()[agree]) {
            agree++;
        }
        double worst = 0;
        double scale = 0;
        List<float[]> a = reference.tensors().orElseThrow().logits();
        List<float[]> b = other.tensors().orElseThrow().logits();
        for (int s = 0; s <= Math.min(agree, STEPS - 1); s++) {
            for (int i = 0; i < a.get(s).length; i++) {
                scale = Math.max(scale, Math.abs(a.get(s)[i]));
                worst = Math.max(worst, Math.abs(a.get(s)[i] - b.get(s)[i]));
            }
        }
        return new Comparison(agree, worst, scale);
    }
}
