package io.github.magmajava;

/** Why generation ended. */
public enum StopReason {
    /** The model produced {@code <|endoftext|>} (not part of the answer). */
    END_OF_TEXT,
    /** {@code maxNewTokens} tokens were produced. */
    MAX_TOKENS,
    /** The answer reached one of the request's stop strings (left out of its text). */
    STOP_SEQUENCE,
    /** The text budget of the config ({@code sequenceLength}) or the context ({@code maxPositions}) is full. */
    CONTEXT_FULL
}
