package io.github.magmajava;

import java.util.List;

/**
 * Intermediate tensors of one generation, kept on request for debugging and parity checks:
 * the preprocessed image [3, S, S], the image embeddings [N, d], and the logits [vocabSize] of
 * every sampling step (row 0 at the last prompt position).
 */
public record CapturedTensors(int imageSize, float[] image, int imageTokens, int hiddenSize, float[] imageEmbeddings,
        List<float[]> logits) {
    public CapturedTensors {
        logits = List.copyOf(logits);
    }
}
