package io.github.magmajava.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing (Jazzer) of the checkpoint readers: the unpickler, the zip reader behind
 * {@link TorchCheckpoint}, {@link SafetensorsFile} and {@link Npy}. A plain build runs each input
 * of {@code CheckpointFuzzTestInputs/<method>/} once; {@code -Pfuzz} fuzzes (docs/security.md).
 *
 * <p>Invariants: the only exception is the documented one ({@link CheckpointException} naming the
 * file, or an {@link IOException} for {@code .npy}); anything else (an OutOfMemoryError, a
 * StackOverflowError, an index, cast or null fault) is a finding. A pickle yields nothing but
 * inert values (see {@link #requireInert}). A parse allocates at most {@link AllocationBound}'s
 * factor times its input plus a fixed allowance.
 */
class CheckpointFuzzTest {
    private static final Path PICKLE = Path.of("fuzz.pt");
    private static Path dir;
    private static long files;

    @BeforeAll
    static void createDirectory() throws IOException {
        Path shm = Path.of("/dev/shm");
        dir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "magma-fuzz") : Files.createTempDirectory("magma-fuzz");
    }

    @AfterAll
    static void deleteDirectory() throws IOException {
        try (var stream = Files.list(dir)) {
            for (Path p : stream.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @FuzzTest
    void unpickle(byte[] input) throws Exception {
        AllocationBound.check("a pickle", input.length, () -> {
            Object root;
            try {
                root = Unpickler.load(PICKLE, "archive/data.pkl", MemorySegment.ofArray(input));
            } catch (CheckpointException e) {
                requireNamesFile(e, PICKLE);
                return;
            }
            requireInert(root);
        });
    }

    /** Through {@link TensorFiles#open}: a zip (or bare pickle) goes to the torch reader, a safetensors header to that one. */
    @FuzzTest
    void torchCheckpoint(byte[] input) throws Exception {
        Path file = write(input, ".pt");
        try {
            AllocationBound.check("a checkpoint", input.length, () -> {
                try (TensorFile tensors = TensorFiles.open(file)) {
                    readAll(tensors);
                    if (tensors instanceof TorchCheckpoint checkpoint) {
                        requireInert(checkpoint.root());
                    }
                } catch (CheckpointException e) {
                    requireNamesFile(e, file);
                }
            });
        } finally {
            Files.delete(file);
        }
    }

    @FuzzTest
    void safetensors(byte[] input) throws Exception {
        Path file = write(input, ".safetensors");
        try {
            AllocationBound.check("a safetensors file", input.length, () -> {
                try (SafetensorsFile tensors = SafetensorsFile.open(file)) {
                    readAll(tensors);
                } catch (CheckpointException e) {
                    requireNamesFile(e, file);
                }
            });
        } finally {
            Files.delete(file);
        }
    }

    @FuzzTest
    void npy(byte[] input) throws Exception {
        AllocationBound.check("a .npy", input.length, () -> {
            try {
                Npy.NpyArray array = Npy.read(new ByteArrayInputStream(input), "fuzz.npy");
                if (array.data().length != array.size()) {
                    throw new AssertionError("data of " + array.data().length + " floats for " + array.size() + " elements");
                }
            } catch (IOException e) {
                if (e.getMessage() == null || !e.getMessage().contains("fuzz.npy")) {
                    throw new AssertionError("the message does not name the source: " + e.getMessage(), e);
                }
            }
        });
    }

    /** Every tensor's bytes and floats: a tensor a reader accepts must be readable. */
    private static void readAll(TensorFile tensors) {
        for (Tensor t : tensors.tensors().values()) {
            t.data().toArray(ValueLayout.JAVA_BYTE);
            t.toFloatArray();
        }
    }

    /** A fresh name per input: rewriting one file makes ext4 flush it on every close. */
    private static Path write(byte[] input, String suffix) {
        try {
            return Files.write(dir.resolve("input" + files++ + suffix), input);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void requireNamesFile(CheckpointException e, Path file) {
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
