package io.github.magmajava.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the unpickler (a checkpoint's {@code data.pkl}). A plain build runs each input of
 * {@code UnpicklerFuzzTestInputs/unpickle/} once; {@code -Pfuzz} fuzzes it (docs/security.md, "Fuzzing").
 *
 * <p>Invariants: the only exception is a {@link CheckpointException} naming the file; nothing else (an OutOfMemoryError, a StackOverflowError, an index, cast or null fault) escapes. Everything reachable from the result is a value the unpickler builds itself ({@link FuzzedFiles#requireInert}): no pickle instantiates a class outside the allow-list. A parse allocates at most {@link AllocationBound#FACTOR} x its input plus
 * {@link AllocationBound#ALLOWANCE}.
 */
class UnpicklerFuzzTest {
    private static final Path FILE = Path.of("fuzz.pt");

    @FuzzTest
    void unpickle(byte[] input) throws Exception {
        AllocationBound.check("a pickle", input.length, () -> {
            Object root;
            try {
                root = Unpickler.load(FILE, "archive/data.pkl", MemorySegment.ofArray(input));
            } catch (CheckpointException e) {
                FuzzedFiles.requireNamesFile(e, FILE);
                return;
            }
            FuzzedFiles.requireInert(root);
        });
    }
}
