package io.github.magmajava.image;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of PNG decoding through {@link ClipPreprocessor}: each input of
 * {@code PngFuzzTestInputs/png/} once in a plain build, fuzzing with {@code -Pfuzz} (docs/security.md,
 * "Fuzzing"). Invariants: {@link FuzzedImages}.
 */
class PngFuzzTest {
    @FuzzTest
    void png(byte[] input) throws Exception {
        FuzzedImages.decode(input, "fuzz.png");
    }
}
