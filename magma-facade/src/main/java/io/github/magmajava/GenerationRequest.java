package io.github.magmajava;

import io.github.magmajava.sampling.SamplingOptions;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One question about one image: the image, the prompt that follows it, the sampling options
 * (defaults: the seed's run_inference, 6 tokens, temperature 0.7, top-p 0.9, seed 0), and whether
 * to keep the intermediate tensors ({@link Generation#tensors()}).
 */
public record GenerationRequest(ImageInput image, String prompt, SamplingOptions options, boolean captureTensors) {
    public GenerationRequest {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
    }

    public static GenerationRequest of(Path image, String prompt) {
        return new GenerationRequest(ImageInput.file(image), prompt, SamplingOptions.defaults(), false);
    }

    public GenerationRequest withOptions(SamplingOptions newOptions) {
        return new GenerationRequest(image, prompt, newOptions, captureTensors);
    }

    public GenerationRequest withCapturedTensors() {
        return new GenerationRequest(image, prompt, options, true);
    }
}
