package io.github.magmajava;

import java.util.Optional;

/**
 * The answer: its text, the generated token ids (without {@code <|endoftext|>}), the number of
 * prompt tokens (text only; the image adds {@code config.visual().imageTokens()} positions), why it
 * stopped, the stage timings, and the captured tensors when the request asked for them.
 */
public record Generation(String text, int[] tokens, int promptTokens, StopReason stopReason, Timings timings,
        Optional<CapturedTensors> tensors) {
    public Generation {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
