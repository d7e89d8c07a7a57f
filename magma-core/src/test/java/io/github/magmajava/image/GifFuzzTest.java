package io.github.magmajava.image;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of GIF decoding through {@link ClipPreprocessor}: each input of
 * {@code GifFuzzTestInputs/gif/} once in a plain build, fuzzing with {@code -Pfuzz} (docs/security.md,
 * "Fuzzing"). Invariants: {@link FuzzedImages}.
 */
class GifFuzzTest {
    @FuzzTest
    void gif(byte[] input) throws Exception {
        FuzzedImages.decode(input, "fuzz.gif");
    }
}
