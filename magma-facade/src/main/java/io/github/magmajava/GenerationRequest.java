package io.github.magmajava;

import io.github.magmajava.sampling.SamplingOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One question about one image: the image, the prompt that follows it, the sampling options
 * (defaults: the seed's run_inference, 6 tokens, temperature 0.7, top-p 0.9, seed 0), whether
 * to keep the intermediate tensors ({@link Generation#tensors()}), and stop strings: the answer
 * ends before the first of them it produces ({@link StopReason#STOP_SEQUENCE}).
 */
public record GenerationRequest(ImageInput image, String prompt, SamplingOptions options, boolean captureTensors,
        List<String> stop) {
    public GenerationRequest {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        stop = checkStop(stop);
    }

    /** Without stop strings. */
    public GenerationRequest(ImageInput image, String prompt, SamplingOptions options, boolean captureTensors) {
        this(image, prompt, options, captureTensors, List.of());
    }

    public static GenerationRequest of(Path image, String prompt) {
        return new GenerationRequest(ImageInput.file(image), prompt, SamplingOptions.defaults(), false);
    }

    public GenerationRequest withOptions(SamplingOptions newOptions) {
        return new GenerationRequest(image, prompt, newOptions, captureTensors, stop);
    }

    public GenerationRequest withCapturedTensors() {
        return new GenerationRequest(image, prompt, options, true, stop);
    }

    public GenerationRequest withStop(List<String> strings) {
        return new GenerationRequest(image, prompt, options, captureTensors, strings);
    }

    /** @throws IllegalArgumentException for an empty stop string, naming its index */
    static List<String> checkStop(List<String> stop) {
        List<String> copy = List.copyOf(Objects.requireNonNull(stop, "stop"));
        for (int i = 0; i < copy.size(); i++) {
            if (copy.get(i).isEmpty()) {
                throw new IllegalArgumentException("stop string " + i + " is empty");
            }
        }
        return copy;
    }
}
