package io.github.magmajava.ipu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.StreamSupport;

/** A tiny PyTorch fixture (tools/fixtures/magma_reference.py): its files, prompt, image and greedy reference. */
record TinyFixture(String name) {
    static final Path ROOT = Path.of(System.getProperty("magma.fixtures"), "magma");

    Path dir() {
        return ROOT.resolve(name);
    }

    Path checkpoint() {
        return dir().resolve("model.pt");
    }

    MagmaConfig config() throws IOException {
        return MagmaConfig.fromJson(dir().resolve("config.json"));
    }

    Magma.Builder builder() throws IOException {
        return Magma.builder(checkpoint()).config(config());
    }

    int[] greedyTokens() throws IOException {
        return ints(json("greedy.json").get("tokens"));
    }

    /** PyTorch's logits of greedy step {@code step} [vocabSize]. */
    float[] greedyLogits(int step, int vocab) throws IOException {
        float[] all = Npy.read(dir().resolve("greedy_logits.npy")).data();
        return Arrays.copyOfRange(all, step * vocab, (step + 1) * vocab);
    }

    /** The fixture's preprocessed image. */
    ImageInput image(Magma magma) throws IOException {
        return ImageInput.preprocessed(new PreprocessedImage(magma.config().visual().imageResolution(),
                Npy.read(dir().resolve("image.npy")).data()));
    }

    /** The fixture's image and prompt, {@code steps} argmax tokens, tensors captured. */
    Generation greedy(Magma magma, int steps) throws IOException {
        SamplingOptions argmax = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(steps);
        return magma.generate(new GenerationRequest(image(magma), json("prompt_ids.json").get("text").asText(), argmax, true),
                TokenListener.NONE);
    }

    private JsonNode json(String file) throws IOException {
        return new ObjectMapper().readTree(dir().resolve(file).toFile());
    }

    private static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
