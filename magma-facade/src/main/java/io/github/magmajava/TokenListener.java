package io.github.magmajava;

/**
 * Receives the answer while it is generated: each token id with the text it completes. A token
 * that ends inside a multi-byte character yields an empty piece; its text comes with a later one.
 * Called on the generating thread.
 */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (id, piece) -> { };

    void onToken(int id, String textPiece);
}
