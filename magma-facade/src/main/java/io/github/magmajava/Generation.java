package io.github.magmajava;

import java.util.Optional;

/**
 * The answer: its text, the generated token ids (without {@code <|endoftext|>}), the number of
 * prompt tokens (text only; the image adds {@code config.visual().imageTokens()} positions), the
 * positions its prefill actually ran ({@code imageTokens + promptTokens} for {@code generate}, only
 * the prompt's for a question on an {@link ImageSession}, the whole padded sequence in the static
 * sequence mode), why it stopped, the stage timings, and the captured tensors when the request
 * asked for them.
 */
public record Generation(String text, int[] tokens, int promptTokens, int prefillTokens, StopReason stopReason, Timings timings,
        Optional<CapturedTensors> tensors) {
    public Generation {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
