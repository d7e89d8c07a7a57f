package io.github.magmajava.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link Npy#read(java.io.InputStream, String)}. A plain build runs each input of
 * {@code NpyFuzzTestInputs/npy/} once; {@code -Pfuzz} fuzzes it (docs/security.md, "Fuzzing").
 *
 * <p>Invariants: the only exception is an {@link IOException} naming the source; an accepted array has as many floats as its shape says. A parse allocates at most {@link AllocationBound#FACTOR} x its input plus
 * {@link AllocationBound#ALLOWANCE}.
 */
class NpyFuzzTest {
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
}
