package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Pillow's Convert.c arithmetic, checked on values worked out from its formulas. */
class PillowConvertTest {
    @Test
    void mulDiv255RoundsAProductDividedBy255() {
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                assertThat(PillowConvert.mulDiv255(a, b)).isEqualTo((int) Math.round(a * b / 255.0));
            }
        }
    }

    @Test
    void premultiplyAndBackKeepsOpaqueAndTransparentColoursAndTruncatesTheRest() {
        byte[] rgba = {(byte) 200, 100, 50, (byte) 255, (byte) 200, 100, 50, 0, (byte) 200, 100, 50, (byte) 128};

        byte[] premultiplied = PillowConvert.premultiply(rgba, 4);
        assertThat(premultiplied).containsExactly((byte) 200, 100, 50, (byte) 255, 0, 0, 0, 0, 100, 50, 25, (byte) 128);

        PillowConvert.unpremultiply(premultiplied, 4);
        // 255 * 100 / 128 = 199.2 -> 199: the round trip loses a level where alpha is partial.
        assertThat(premultiplied).containsExactly((byte) 200, 100, 50, (byte) 255, 0, 0, 0, 0, (byte) 199, 99, 49, (byte) 128);
    }

    @Test
    void unpremultiplyClipsColoursAboveAlpha() {
        byte[] la = {(byte) 200, 100};

        PillowConvert.unpremultiply(la, 2);
        assertThat(la).containsExactly((byte) 255, 100);
    }

    @Test
    void cmykConvertsWithoutColourManagement() {
        byte[] cmyk = {0, 0, 0, 0, (byte) 255, 0, 0, 0, 0, 0, 0, (byte) 255, 64, (byte) 128, (byte) 192, 32};
        byte[] rgb = PillowConvert.toRgb(PillowImage.of8bit(PillowMode.CMYK, 4, 1, cmyk));

        // (255 - k) - (255 - k) * c / 255: 223 - 56 = 167, 223 - 112 = 111, 223 - 168 = 55.
        assertThat(rgb).containsExactly((byte) 255, (byte) 255, (byte) 255, 0, (byte) 255, (byte) 255, 0, 0, 0,
                (byte) 167, 111, 55);
    }

    @Test
    void integerModeClipsToEightBits() {
        byte[] rgb = PillowConvert.toRgb(PillowImage.ofInt(4, 1, new int[] {-5, 100, 255, 70000}));

        assertThat(rgb).containsExactly(0, 0, 0, 100, 100, 100, (byte) 255, (byte) 255, (byte) 255,
                (byte) 255, (byte) 255, (byte) 255);
    }

    @Test
    void paletteAlphaAndGreyModesDropTransparency() {
        byte[] palette = new byte[768];
        palette[3] = 10;
        palette[4] = 20;
        palette[5] = 30;
        assertThat(PillowConvert.toRgb(PillowImage.ofPalette(1, 1, new byte[] {1}, palette))).containsExactly(10, 20, 30);
        assertThat(PillowConvert.toRgb(PillowImage.of8bit(PillowMode.LA, 1, 1, new byte[] {77, 0}))).containsExactly(77, 77, 77);
        assertThat(PillowConvert.toRgb(PillowImage.of8bit(PillowMode.RGBA, 1, 1, new byte[] {1, 2, 3, 0})))
                .containsExactly(1, 2, 3);
    }
}
