package io.github.magmajava.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.magmajava.fuzz.AllocationBound;

/**
 * Coverage-guided fuzzing (Jazzer) of the image decoders through
 * {@link ClipPreprocessor#preprocess(byte[], String)}, one target per format so that each starts
 * from its own seeds ({@code ImageFuzzTestInputs/<method>/}); docs/security.md, "Fuzzing".
 *
 * <p>Invariants: the only exception is {@link ImageLoadException} naming the source; a decoded
 * image is {@code size x size} with finite values. The pixel limit is 1 Mpx here, so a decode
 * may allocate {@link AllocationBound#FACTOR} x the input plus 64 MiB (1 Mpx of 4-byte ARGB, the
 * decoder's rasters and the resampler's buffers), never what a forged header claims.
 */
class ImageFuzzTest {
    private static final int SIZE = 64;
    private static final long PIXEL_LIMIT = 1 << 20;
    private static final ClipPreprocessor PREPROCESSOR = ClipPreprocessor.of(SIZE).withPixelLimit(PIXEL_LIMIT);

    @FuzzTest
    void png(byte[] input) throws Exception {
        decode(input, "fuzz.png");
    }

    @FuzzTest
    void jpeg(byte[] input) throws Exception {
        decode(input, "fuzz.jpg");
    }

    @FuzzTest
    void gif(byte[] input) throws Exception {
        decode(input, "fuzz.gif");
    }

    @FuzzTest
    void bmp(byte[] input) throws Exception {
        decode(input, "fuzz.bmp");
    }

    private static void decode(byte[] input, String name) throws Exception {
        AllocationBound.check(name, input.length, 64L << 20, () -> {
            try {
                PreprocessedImage image = PREPROCESSOR.preprocess(input, name);
                float[] values = image.pixels();
                if (values.length != 3 * SIZE * SIZE) {
                    throw new AssertionError(name + ": " + values.length + " values, not 3 x " + SIZE + " x " + SIZE);
                }
                for (float v : values) {
                    if (!Float.isFinite(v)) {
                        throw new AssertionError(name + ": a value " + v);
                    }
                }
            } catch (ImageLoadException e) {
                if (e.getMessage() == null || !e.getMessage().contains(name)) {
                    throw new AssertionError("the message does not name " + name + ": " + e.getMessage(), e);
                }
            }
        });
    }
}
