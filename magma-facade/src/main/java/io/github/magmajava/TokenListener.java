package io.github.magmajava;

/**
 * Receives the answer while it is generated: each token id exactly once, in order, with the text
 * it completes; the pieces concatenated are {@link Generation#text()}. A token that ends inside a
 * multi-byte character yields an empty piece, its text coming with a later one. A token after
 * which bytes of a character are still missing is told when the next token arrives, or at the end
 * with the rest of the answer (an unfinished character there becoming U+FFFD): the last token
 * carries all the remaining text, so no id is told twice.
 *
 * <p>Called on the thread that called {@code generate} or {@code ask} (the model computes on its
 * own scheduling thread, so a slow listener delays only its own answer). A listener stops the
 * generation by throwing: the exception propagates from
 * {@link Magma#generate(GenerationRequest, TokenListener)}, and the generation is dropped at the
 * scheduler's next turn (the CLI does so when its standard output is closed, the server when its
 * client has gone). Interrupting the waiting thread does the same, with a
 * {@link java.util.concurrent.CancellationException}.
 */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (id, piece) -> { };

    void onToken(int id, String textPiece);

    /** The stages before the first token, for progress displays ({@link #onProgress}). */
    enum Stage {
        /** The image through the encoder: {@code done} 0 before, 1 after. */
        ENCODING_IMAGE,
        /** The prompt's positions (the image's, then the text's) through the language model, a chunk at a time. */
        READING_PROMPT
    }

    /**
     * Where the generation stands before its first token: {@code done} of {@code total} units of
     * {@code stage} (positions, for the prompt: one report per chunk, {@code Magma.Builder.prefillChunk}).
     * Called on the same thread as {@link #onToken}. Does nothing by default.
     */
    default void onProgress(Stage stage, int done, int total) {
    }
}
