package io.github.magmajava.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint (or other model file) that cannot be read or does not fit the model: the message
 * names the file and the fault (the tensor, the offset, what was expected and what was found).
 */
public class CheckpointException extends IOException {
    private final Path file;

    public CheckpointException(Path file, String fault) {
        super(file + ": " + fault);
        this.file = file;
    }

    public CheckpointException(Path file, String fault, Throwable cause) {
        super(file + ": " + fault, cause);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}
