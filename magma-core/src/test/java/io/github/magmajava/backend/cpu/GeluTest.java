package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vectorized gelu_new against the formula in double precision, element by element
 * over its whole range, and its independence of how a row is split.
 */
class GeluTest {
    /**
     * gelu_new in double as x / (1 + exp(-2u)): equal to 0.5 x (1 + tanh(u)), but without its
     * cancellation for negative x (1 + tanh(u) of about 1e-16 has no correct digits left).
     */
    private static double geluNew(double x) {
        double u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
        return x / (1 + Math.exp(-2 * u));
    }

    /** Ulps of the float result between ours and the double formula rounded to float. */
    private static double ulpsOff(float ours, double exact) {
        return Math.abs(ours - exact) / Math.ulp((float) exact);
    }

    /**
     * Within a few ulps where the result is not much smaller than x, and within 1e-6 absolutely
     * everywhere. For x below about -2 the result is x e^(2u) and its relative error grows with
     * |2u|: u itself is computed in float (as PyTorch's float32 gelu does), and e^(2u) multiplies
     * u's relative rounding by |2u|. That is the formula's conditioning, not the kernel's.
     */
    @Test
    void accurateOverTheWholeRange() {
        int n = 400_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -20f + 40f * i / (n - 1); // -20 .. 20 in steps of 1e-4
        }
        float[] y = x.clone();
        Elementwise.gelu(y, n);
        double worstUlps = 0;
        double worstAbsolute = 0;
        for (int i = 0; i < n; i++) {
            double exact = geluNew(x[i]);
            if (x[i] >= -2f && exact != 0) {
                worstUlps = Math.max(worstUlps, ulpsOff(y[i], exact));
            }
            worstAbsolute = Math.max(worstAbsolute, Math.abs(y[i] - exact));
        }
        System.out.printf("gelu: worst %.1f ulps for x >= -2, worst absolute error %.3g%n", worstUlps, worstAbsolute);
        assertThat(worstUlps).isLessThanOrEqualTo(8);
        assertThat(worstAbsolute).isLessThan(1e-6);
    }

    @Test
    void extremesAndSpecialValues() {
        float[] x = {0f, -0f, 1e-30f, -1e-30f, 1e4f, -1e4f, 1e20f, -1e20f, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NaN, 3f};
        float[] y = x.clone();
        Elementwise.gelu(y, y.length);
        assertThat(y[0]).isEqualTo(0f);
        assertThat(y[2]).isEqualTo(5e-31f, org.assertj.core.data.Offset.offset(1e-36f));
        assertThat(y[4]).isEqualTo(1e4f);
        assertThat(y[5]).isBetween(-1e-30f, 0f);
        assertThat(y[6]).isEqualTo(1e20f);
        assertThat(y[7]).isBetween(-1e-15f, 0f);
        assertThat(y[8]).isEqualTo(Float.MAX_VALUE);
        assertThat(y[9]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(y[10]).isNaN();
        assertThat(y[11]).isCloseTo((float) geluNew(3), org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void anElementsResultDoesNotDependOnWhereTheSplitFalls() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * 4;
        }
        float[] whole = x.clone();
        Elementwise.gelu(whole, 0, whole.length);
        for (int cut : new int[] {1, 7, 13, 500, 999}) {
            float[] split = x.clone();
            Elementwise.gelu(split, 0, cut);
            Elementwise.gelu(split, cut, split.length);
            assertThat(split).as("cut at %d", cut).containsExactly(whole);
        }
    }
}
