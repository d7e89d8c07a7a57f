package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.image.ImageFixtures.Case;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ClipPreprocessorTest {
    /**
     * The normalized tensor of torchvision's full clip_preprocess(32) (ToTensor + Normalize in
     * float32) on an RGBA PNG with transparent areas; the float arithmetic is the same, so the
     * values agree to the bit (the bound of 1e-6 allows for a platform division that does not).
     */
    @Test
    void normalizedTensorMatchesTorchvision() throws Exception {
        float[] expected = ImageFixtures.npyFloat32(ImageFixtures.path("expected/rgba_60x90.s32.npy"), 3, 32, 32);

        PreprocessedImage actual = ClipPreprocessor.of(32).preprocess(ImageFixtures.source("rgba_60x90.png"));

        assertThat(actual.size()).isEqualTo(32);
        float[] pixels = actual.pixels();
        assertThat(pixels).hasSize(expected.length);
        double maxDiff = 0;
        for (int i = 0; i < pixels.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(pixels[i] - expected[i]));
        }
        assertThat(maxDiff).isLessThanOrEqualTo(1e-6);
        assertThat(pixels).containsExactly(expected);
    }

    /** At MAGMA's own size: the tensor is the normalization of the uint8 image that matched torchvision. */
    @Test
    void magmaSizeTensorIsTheNormalizedReferenceImage() throws Exception {
        Case c = ImageFixtures.cases().stream().filter(k -> k.size() == ClipPreprocessor.MAGMA_SIZE).findFirst().orElseThrow();
        ClipPreprocessor clip = ClipPreprocessor.of(ClipPreprocessor.MAGMA_SIZE);
        RgbImage reference = RgbImage.of(384, 384, ImageFixtures.expectedRgb(c));

        PreprocessedImage tensor = clip.preprocess(ImageFixtures.source(c.source()));

        assertThat(tensor).isEqualTo(clip.normalize(reference));
        assertThat(tensor.at(0, 0, 0)).isEqualTo((reference.sample(0, 0, 0) / 255f - 0.48145466f) / 0.26862954f);
        assertThat(tensor.at(2, 383, 17)).isEqualTo((reference.sample(17, 383, 2) / 255f - 0.40821073f) / 0.27577711f);
    }

    @Test
    void pixelsAreChannelMajor() throws Exception {
        ClipPreprocessor clip = ClipPreprocessor.of(32);
        Path file = ImageFixtures.source("rgb_97x61.png");
        RgbImage rgb = clip.resizeAndCrop(file);
        float[] chw = clip.preprocess(file).pixels();

        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y += 7) {
                for (int x = 0; x < 32; x += 5) {
                    assertThat(chw[(c * 32 + y) * 32 + x]).isEqualTo((rgb.sample(x, y, c) / 255f - mean[c]) / std[c]);
                }
            }
        }
    }

    @Test
    void bytesAndFileGiveTheSameResult() throws Exception {
        ClipPreprocessor clip = ClipPreprocessor.of(48);
        Path file = ImageFixtures.source("jpeg_rgb_83x64.jpg");

        assertThat(clip.preprocess(ImageFixtures.bytes(file), "photo")).isEqualTo(clip.preprocess(file));
    }

    @Test
    void normalizeWantsTheConfiguredSize() {
        RgbImage small = RgbImage.of(2, 2, new byte[12]);

        assertThatThrownBy(() -> ClipPreprocessor.of(32).normalize(small))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a 32x32 image, got 2x2");
    }

    @Test
    void resultsAreImmutable() throws Exception {
        float[] values = new float[3 * 2 * 2];
        PreprocessedImage image = new PreprocessedImage(2, values);
        values[0] = 9;
        image.pixels()[1] = 9;

        assertThat(image.pixels()).containsOnly(0f);
        float[] target = new float[14];
        image.copyTo(target, 2);
        assertThat(target).containsOnly(0f);

        byte[] rgb = new byte[12];
        RgbImage picture = RgbImage.of(2, 2, rgb);
        rgb[0] = 1;
        picture.toByteArray()[1] = 1;
        assertThat(picture.toByteArray()).containsOnly((byte) 0);
    }

    @Test
    void valueTypesRejectInconsistentShapes() {
        assertThatThrownBy(() -> new PreprocessedImage(2, new float[11]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 3 x 2 x 2 = 12 floats, got 11");
        assertThatThrownBy(() -> RgbImage.of(2, 2, new byte[11]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 12 bytes, got 11");
        assertThatThrownBy(() -> new PreprocessedImage(2, new float[12]).at(3, 0, 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    /** CHW layout: channel c, row y, column x at (c * size + y) * size + x; equality by size and values. */
    @Test
    void preprocessedImagesAreChannelMajorValues() {
        float[] values = new float[3 * 2 * 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        PreprocessedImage image = new PreprocessedImage(2, values);
        assertThat(image.at(0, 0, 1)).isEqualTo(1f);
        assertThat(image.at(0, 1, 0)).isEqualTo(2f);
        assertThat(image.at(2, 1, 1)).isEqualTo(11f);
        float[] target = new float[14];
        image.copyTo(target, 2);
        assertThat(Arrays.copyOfRange(target, 2, 14)).containsExactly(values);
        assertThat(target[0]).isZero();

        PreprocessedImage same = new PreprocessedImage(2, values.clone());
        assertThat(image).isEqualTo(same).hasSameHashCodeAs(same);
        values[11] = -1;
        assertThat(image).isNotEqualTo(new PreprocessedImage(2, values));
        assertThatThrownBy(() -> new PreprocessedImage(0, new float[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("size must be positive, got 0");
    }

    /** One shared preprocessor, many threads, every fixture: the same results as one at a time. */
    @Test
    @Timeout(60)
    void isSafeToShareBetweenThreads() throws Exception {
        ClipPreprocessor clip = ClipPreprocessor.of(32);
        List<Path> files = ImageFixtures.cases().stream().map(c -> ImageFixtures.source(c.source())).distinct().toList();
        List<PreprocessedImage> sequential = new ArrayList<>();
        for (Path f : files) {
            sequential.add(clip.preprocess(f));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<PreprocessedImage>> futures = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (Path f : files) {
                    futures.add(pool.submit(() -> clip.preprocess(f)));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertThat(futures.get(i).get()).isEqualTo(sequential.get(i % files.size()));
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
