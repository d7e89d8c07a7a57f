package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Small, readable cases of Pillow's resampling; the fixture parity tests cover whole images. */
class PillowResamplerTest {
    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static int[] unsigned(byte[] b) {
        int[] v = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            v[i] = b[i] & 0xFF;
        }
        return v;
    }

    @Test
    void keysCubicWithAMinusHalf() {
        assertThat(PillowResampler.bicubic(0.0)).isEqualTo(1.0);
        assertThat(PillowResampler.bicubic(0.5)).isEqualTo(0.5625);
        assertThat(PillowResampler.bicubic(-0.5)).isEqualTo(0.5625);
        assertThat(PillowResampler.bicubic(1.0)).isEqualTo(0.0);
        assertThat(PillowResampler.bicubic(1.5)).isEqualTo(-0.0625);
        assertThat(PillowResampler.bicubic(2.0)).isEqualTo(0.0);
        assertThat(PillowResampler.bicubic(7.0)).isEqualTo(0.0);
    }

    /** Values from Pillow 9.4: {@code Image.fromarray(row, "L").resize((n, 1), BICUBIC)}. */
    @Test
    void eightBitRowMatchesPillowIncludingRingingClippedPerPass() {
        byte[] row = bytes(0, 255, 0, 255, 0, 255, 0, 255, 30, 40, 200);

        assertThat(unsigned(PillowResampler.bicubic(row, 11, 1, 1, 5, 1))).containsExactly(110, 129, 127, 118, 101);
        assertThat(unsigned(PillowResampler.bicubic(row, 11, 1, 1, 17, 1)))
                .containsExactly(0, 125, 245, 36, 94, 252, 53, 73, 255, 73, 52, 252, 130, 13, 31, 131, 211);
    }

    @Test
    void verticalPassEqualsHorizontalPassOnTheTransposedImage() {
        byte[] row = bytes(0, 255, 0, 255, 0, 255, 0, 255, 30, 40, 200);

        assertThat(PillowResampler.bicubic(row, 1, 11, 1, 1, 17)).isEqualTo(PillowResampler.bicubic(row, 11, 1, 1, 17, 1));
    }

    /** Mode "I": double weights, rounded half away from zero after each pass, never clipped. */
    @Test
    void integerModeMatchesPillowWithoutClipping() {
        int[] row = {0, 1000, -50, 70000, 3};

        assertThat(PillowResampler.bicubic(row, 5, 1, 3, 1)).containsExactly(-1708, 17473, 31202);
        assertThat(PillowResampler.bicubic(row, 5, 1, 8, 1)).containsExactly(-72, 448, 860, -4904, 21291, 69338, 31164, -5034);
    }

    @Test
    void channelsAreResizedIndependently() {
        Random random = new Random(1);
        byte[] rgb = new byte[13 * 9 * 3];
        random.nextBytes(rgb);
        byte[] resized = PillowResampler.bicubic(rgb, 13, 9, 3, 6, 20);

        for (int c = 0; c < 3; c++) {
            byte[] plane = new byte[13 * 9];
            for (int p = 0; p < plane.length; p++) {
                plane[p] = rgb[3 * p + c];
            }
            byte[] alone = PillowResampler.bicubic(plane, 13, 9, 1, 6, 20);
            for (int p = 0; p < alone.length; p++) {
                assertThat(resized[3 * p + c]).isEqualTo(alone[p]);
            }
        }
    }

    @Test
    void constantImagesStayConstantAtEverySize() {
        for (int value : new int[] {0, 1, 128, 254, 255}) {
            for (int[] sizes : new int[][] {{7, 5, 32, 45}, {400, 300, 384, 288}, {5, 7, 384, 537}, {1000, 3, 21, 1}}) {
                byte[] image = new byte[sizes[0] * sizes[1]];
                Arrays.fill(image, (byte) value);
                byte[] resized = PillowResampler.bicubic(image, sizes[0], sizes[1], 1, sizes[2], sizes[3]);
                assertThat(unsigned(resized)).as("%d at %s", value, Arrays.toString(sizes)).containsOnly(value);
            }
        }
    }

    @Test
    void unchangedSizeIsACopy() {
        byte[] image = bytes(1, 2, 3, 4, 5, 6);

        byte[] same = PillowResampler.bicubic(image, 3, 2, 1, 3, 2);
        assertThat(same).isEqualTo(image).isNotSameAs(image);
        assertThat(PillowResampler.nearest(image, 3, 2, 1, 3, 2)).isEqualTo(image).isNotSameAs(image);
    }

    /**
     * Source of output x is trunc((x + 1/2) * in / out) summed up step by step as Pillow does:
     * at 10 to 15 the fifth centre is 3 exactly, but the running sum reaches 2.9999... (values from Pillow 9.4).
     */
    @Test
    void nearestPicksThePixelUnderEachOutputCentre() {
        byte[] ramp = bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);

        assertThat(unsigned(PillowResampler.nearest(ramp, 10, 1, 1, 4, 1))).containsExactly(1, 3, 6, 8);
        assertThat(unsigned(PillowResampler.nearest(ramp, 10, 1, 1, 15, 1)))
                .containsExactly(0, 1, 1, 2, 2, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9);
        assertThat(unsigned(PillowResampler.nearest(ramp, 1, 10, 1, 1, 4))).containsExactly(1, 3, 6, 8);
    }

    @Test
    void badSizesAreRejected() {
        assertThatThrownBy(() -> PillowResampler.bicubic(new byte[5], 2, 2, 1, 3, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 4 samples, got 5");
        assertThatThrownBy(() -> PillowResampler.bicubic(new byte[4], 2, 2, 1, 0, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output size 0x3");
    }
}
