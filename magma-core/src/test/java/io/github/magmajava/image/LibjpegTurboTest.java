package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LibjpegTurboTest {
    /** Rows replicated in pairs (libjpeg 6b) become libjpeg-turbo's 3:1 triangle filter, edges replicated. */
    @Test
    void replicatedRowsAreUpsampledSmoothly() {
        byte[] column = {10, 10, 50, 50, 90};

        LibjpegTurbo.smoothVerticalUpsampling(column, 1, 5, 1, 0);

        // in = 10, 50, 90: (3*10+10+1)>>2, (3*10+50+2)>>2, (3*50+10+1)>>2, (3*50+90+2)>>2, (3*90+50+1)>>2
        assertThat(column).containsExactly(10, 20, 40, 60, 80);
    }

    @Test
    void onlyTheGivenBandChanges() {
        byte[] twoBands = {10, 1, 10, 2, 50, 3, 50, 4};

        LibjpegTurbo.smoothVerticalUpsampling(twoBands, 1, 4, 2, 0);

        assertThat(twoBands).containsExactly(10, 1, 20, 2, 40, 3, 50, 4);
    }

    /** A decoder that already upsampled smoothly leaves rows that are not pairs: nothing to redo. */
    @Test
    void rowsThatAreNotPairsAreLeftAlone() {
        byte[] column = {10, 20, 40, 60, 80};

        LibjpegTurbo.smoothVerticalUpsampling(column, 1, 5, 1, 0);

        assertThat(column).containsExactly(10, 20, 40, 60, 80);
    }

    @Test
    void greyYccIsGrey() {
        byte[] ycc = {(byte) 128, (byte) 128, (byte) 128, 0, (byte) 128, (byte) 128};

        assertThat(LibjpegTurbo.yccToRgb(ycc, 3)).containsExactly((byte) 128, (byte) 128, (byte) 128, 0, 0, 0);
    }
}
