package io.github.magmajava.image;

import io.github.magmajava.fuzz.AllocationBound;

/**
 * What the image fuzz targets share: a decode through {@link ClipPreprocessor#preprocess(byte[],
 * String)} and its checks. The only exception is {@link ImageLoadException} naming the source; a
 * decoded image is {@code size x size} with finite values. The pixel limit is 1 Mpx here, so a
 * decode may allocate {@link AllocationBound#FACTOR} x the input plus 64 MiB (1 Mpx of 4-byte
 * ARGB, the decoder's rasters and the resampler's buffers), never what a forged header claims.
 */
final class FuzzedImages {
    private static final int SIZE = 64;
    private static final long PIXEL_LIMIT = 1 << 20;
    private static final ClipPreprocessor PREPROCESSOR = ClipPreprocessor.of(SIZE).withPixelLimit(PIXEL_LIMIT);

    private FuzzedImages() {
    }

    static void decode(byte[] input, String name) throws Exception {
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
