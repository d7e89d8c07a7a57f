package io.github.magmajava.image;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing (Jazzer) of JPEG decoding through {@link ClipPreprocessor}: each input of
 * {@code JpegFuzzTestInputs/jpeg/} once in a plain build, fuzzing with {@code -Pfuzz} (docs/security.md,
 * "Fuzzing"). Invariants: {@link FuzzedImages}.
 */
class JpegFuzzTest {
    @FuzzTest
    void jpeg(byte[] input) throws Exception {
        FuzzedImages.decode(input, "fuzz.jpg");
    }
}
