package io.github.magmajava.image;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of BMP decoding through {@link ClipPreprocessor}: each input of
 * {@code BmpFuzzTestInputs/bmp/} once in a plain build, fuzzing with {@code -Pfuzz} (docs/security.md,
 * "Fuzzing"). Invariants: {@link FuzzedImages}.
 */
class BmpFuzzTest {
    @FuzzTest
    void bmp(byte[] input) throws Exception {
        FuzzedImages.decode(input, "fuzz.bmp");
    }
}
