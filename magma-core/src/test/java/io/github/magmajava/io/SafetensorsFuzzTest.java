package io.github.magmajava.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link SafetensorsFile}. A plain build runs each input of
 * {@code SafetensorsFuzzTestInputs/safetensors/} once; {@code -Pfuzz} fuzzes it (docs/security.md, "Fuzzing").
 *
 * <p>Invariants: the only exception is a {@link CheckpointException} naming the file; every tensor of an accepted file reads. A parse allocates at most {@link AllocationBound#FACTOR} x its input plus
 * {@link AllocationBound#ALLOWANCE}.
 */
class SafetensorsFuzzTest {
    @FuzzTest
    void safetensors(byte[] input) throws Exception {
        FuzzedFiles.fuzz(input, ".safetensors", "a safetensors file", SafetensorsFile::open, tensors -> { });
    }
}
