package io.github.magmajava.io;

import java.nio.file.Path;
import java.util.Map;

/**
 * An open model file whose tensors are views on its mapped bytes. Closing it unmaps the file:
 * every {@link Tensor} it handed out becomes invalid (accessing one then throws, it never
 * crashes the JVM).
 */
public interface TensorFile extends AutoCloseable {
    /** The file this was opened from. */
    Path path();

    /** Every tensor by name, in file order. */
    Map<String, Tensor> tensors();

    /** The tensor called {@code name}, or a {@link CheckpointException} naming the file and the tensor. */
    default Tensor tensor(String name) throws CheckpointException {
        Tensor t = tensors().get(name);
        if (t == null) {
            throw new CheckpointException(path(), "no tensor named '" + name + "'");
        }
        return t;
    }

    @Override
    void close();
}
