package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.image.ImageFixtures.Case;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.stream.FileImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The uint8 RGB image after resize + center crop + convert("RGB") against MAGMA's Python
 * pipeline (torchvision 0.14 on Pillow 9.4) for every fixture case.
 */
class PillowParityTest {
    /**
     * libjpeg-turbo (Pillow) and the JDK's libjpeg 6b (ImageIO) decode the same JPEG to the same
     * samples; measured 0 on every fixture. The bound leaves room for a platform whose IDCT or
     * upsampling rounds differently, which the resize can spread to a neighbour.
     */
    static final int JPEG_TOLERANCE = 0;

    static Stream<Case> cases() {
        return ImageFixtures.cases().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTorchvisionOnPillow(Case c) throws Exception {
        RgbImage actual = ClipPreprocessor.of(c.size()).resizeAndCrop(ImageFixtures.source(c.source()));

        byte[] expected = ImageFixtures.expectedRgb(c);
        assertThat(actual.width()).isEqualTo(c.size());
        assertThat(actual.height()).isEqualTo(c.size());
        int tolerance = c.isJpeg() ? JPEG_TOLERANCE : 0;
        int diff = ImageFixtures.maxAbsDiff(actual.toByteArray(), expected);
        assertThat(diff).as("max |diff| of %s", c).isLessThanOrEqualTo(tolerance);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesToPillowsMode(Case c) throws Exception {
        try (var in = new FileImageInputStream(ImageFixtures.source(c.source()).toFile())) {
            PillowImage image = ImageDecoder.decode(in, c.source(), ClipPreprocessor.DEFAULT_PIXEL_LIMIT);
            assertThat(image.mode().pillowName()).isEqualTo(c.pillowMode());
        }
    }

    @Test
    void everyModeAndFormatIsCovered() {
        List<Case> cases = ImageFixtures.cases();
        assertThat(cases).extracting(Case::pillowMode).contains("1", "L", "LA", "P", "I", "RGB", "RGBA", "CMYK");
        assertThat(cases).extracting(c -> c.source().substring(c.source().lastIndexOf('.') + 1))
                .contains("png", "jpg", "gif", "bmp");
    }
}
