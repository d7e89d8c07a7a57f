package io.github.magmajava.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link TensorFiles#open}: the zip reader and {@link TorchCheckpoint} (and the safetensors sniffing). A plain build runs each input of
 * {@code TorchCheckpointFuzzTestInputs/torchCheckpoint/} once; {@code -Pfuzz} fuzzes it (docs/security.md, "Fuzzing").
 *
 * <p>Invariants: the only exception is a {@link CheckpointException} naming the file; every tensor of an accepted file reads; its pickle holds only inert values. A parse allocates at most {@link AllocationBound#FACTOR} x its input plus
 * {@link AllocationBound#ALLOWANCE}.
 */
class TorchCheckpointFuzzTest {
    @FuzzTest
    void torchCheckpoint(byte[] input) throws Exception {
        FuzzedFiles.fuzz(input, ".pt", "a checkpoint", TensorFiles::open, tensors -> {
            if (tensors instanceof TorchCheckpoint checkpoint) {
                FuzzedFiles.requireInert(checkpoint.root());
            }
        });
    }
}
