package io.github.magmajava.io;

import io.github.magmajava.fuzz.AllocationBound;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What the checkpoint fuzz targets share: input files in a temporary directory (in /dev/shm where
 * there is one) and the checks on what a reader returns.
 */
final class FuzzedFiles {
    private static Path dir;
    private static long files;

    private FuzzedFiles() {
    }

    /** The input as a fresh file: rewriting one file makes ext4 flush it on every close. Delete it after use. */
    static synchronized Path write(byte[] input, String suffix) {
        try {
            if (dir == null) {
                Path shm = Path.of("/dev/shm");
                dir = Files.isDirectory(shm) && Files.isWritable(shm)
                        ? Files.createTempDirectory(shm, "magma-fuzz") : Files.createTempDirectory("magma-fuzz");
                dir.toFile().deleteOnExit();
            }
            return Files.write(dir.resolve("input" + files++ + suffix), input);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How a target opens its file. */
    interface Opener {
        TensorFile open(Path file) throws CheckpointException;
    }

    /**
     * One input of a checkpoint target: written to a file and opened within the allocation bound;
     * an accepted file reads whole and passes {@code accepted}, a refused one is named in the error.
     */
    static void fuzz(byte[] input, String suffix, String what, Opener opener, Consumer<TensorFile> accepted)
            throws Exception {
        Path file = write(input, suffix);
        try {
            AllocationBound.check(what, input.length, () -> {
                try (TensorFile tensors = opener.open(file)) {
                    readAll(tensors);
                    accepted.accept(tensors);
                } catch (CheckpointException e) {
                    requireNamesFile(e, file);
                }
            });
        } finally {
            Files.delete(file);
        }
    }

    /** Every tensor's bytes and floats: a tensor a reader accepts must be readable. */
    static void readAll(TensorFile tensors) {
        for (Tensor t : tensors.tensors().values()) {
            t.data().toArray(ValueLayout.JAVA_BYTE);
            t.toFloatArray();
        }
    }

    static void requireNamesFile(CheckpointException e, Path file) {
        if (e.getMessage() == null || !e.getMessage().contains(file.toString())) {
            throw new AssertionError("the message does not name " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Everything reachable from a pickle's result is a value the unpickler builds itself: Python's
     * containers and scalars, bytes, names of globals, inert records of calls and torch's
     * tensors. Nothing of another class: no pickle instantiates a class it names.
     */
    static void requireInert(Object root) {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object> todo = new ArrayDeque<>();
        todo.push(root == null ? "" : root);
        while (!todo.isEmpty()) {
            Object o = todo.pop();
            if (!seen.add(o)) {
                continue;
            }
            switch (o) {
                case String s -> { }
                case Long l -> { }
                case Integer i -> { }
                case Double d -> { }
                case Boolean b -> { }
                case BigInteger b -> { }
                case byte[] b -> { }
                case PickleGlobal g -> { }
                case PickledTensor t -> { }
                case TorchStorage s -> { }
                case InertObject obj -> {
                    push(todo, obj.args());
                    push(todo, obj.kwargs());
                    push(todo, obj.state());
                    push(todo, obj.listItems());
                    obj.dictItems().forEach(e -> {
                        push(todo, e.getKey());
                        push(todo, e.getValue());
                    });
                }
                case Map<?, ?> m when m.getClass().getName().startsWith("io.github.magmajava.io.Pickled$")
                        || m.getClass().getName().startsWith("java.util.") -> m.forEach((k, v) -> {
                            push(todo, k);
                            push(todo, v);
                        });
                case Collection<?> c when c.getClass().getName().startsWith("io.github.magmajava.io.Pickled$")
                        || c.getClass().getName().startsWith("java.util.") -> c.forEach(e -> push(todo, e));
                default -> throw new AssertionError("a pickle built a " + o.getClass().getName());
            }
        }
    }

    private static void push(ArrayDeque<Object> todo, Object o) {
        if (o != null) {
            todo.push(o);
        }
    }
}
