package io.github.magmajava;

import java.time.Duration;

/**
 * Wall-clock time of each stage of one generation. {@code prefill} runs the image and prompt
 * tokens; {@code decode} the single-token steps after the first token.
 */
public record Timings(Duration preprocess, Duration imageEncode, Duration prefill, Duration decode, int decodeSteps) {
    public Duration total() {
        return preprocess.plus(imageEncode).plus(prefill).plus(decode);
    }

    /** From the start until the first token is known. */
    public Duration timeToFirstToken() {
        return preprocess.plus(imageEncode).plus(prefill);
    }

    /** Decode steps per second (0 when none ran). */
    public double decodeTokensPerSecond() {
        return decodeSteps == 0 || decode.isZero() ? 0 : decodeSteps / (decode.toNanos() / 1e9);
    }
}
