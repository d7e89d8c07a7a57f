package io.github.magmajava.clip;

import static org.assertj.core.api.Assertions.assertThat;

/** The comparisons of the encoder tests: max abs error within a tolerance relative to the reference's scale. */
final class Close {
    private Close() {
    }

    /** {@code max|actual - expected| <= relative * max(1, max|expected|)}. */
    static void assertClose(String what, float[] actual, double[] expected, double relative) {
        assertThat(actual).as(what + " length").hasSize(expected.length);
        double scale = 1;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        String where = at < 0 ? "" : " at " + at + " (got " + actual[at] + ", expected " + expected[at] + ")";
        assertThat(worst).as(what + ": max abs error" + where + " vs tolerance " + relative + " * " + scale)
                .isLessThanOrEqualTo(relative * scale);
    }

    static void assertClose(String what, float[] actual, float[] expected, double relative) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(what, actual, e, relative);
    }
}
