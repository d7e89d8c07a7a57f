package io.github.magmajava;

import java.util.Objects;

/**
 * A conversation about one image, as the one prompt MAGMA reads (it is not a chat model): system
 * text first, each followed by a newline; then each earlier question followed by its answer and a
 * newline; then the new question. {@code magma chat --conversation} and {@code magma serve}'s
 * messages build their prompts here. Not thread-safe.
 */
public final class Conversation {
    private final StringBuilder system = new StringBuilder();
    private final StringBuilder turns = new StringBuilder();

    /** Adds text that comes before every turn (an OpenAI {@code system} message). */
    public Conversation system(String text) {
        system.append(Objects.requireNonNull(text, "text")).append('\n');
        return this;
    }

    /** Records a question and the answer it got. */
    public Conversation add(String question, String answer) {
        turns.append(Objects.requireNonNull(question, "question")).append(Objects.requireNonNull(answer, "answer")).append('\n');
        return this;
    }

    /** The prompt that asks {@code question} next, after everything recorded (nothing is recorded). */
    public String prompt(String question) {
        return system.toString() + turns + Objects.requireNonNull(question, "question");
    }

    /** Forgets everything. */
    public void clear() {
        system.setLength(0);
        turns.setLength(0);
    }
}
