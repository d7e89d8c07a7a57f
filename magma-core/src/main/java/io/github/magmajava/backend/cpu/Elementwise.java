package io.github.magmajava.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** Row-wise and element-wise kernels; cheap next to the GEMMs, vectorized where it is free. */
final class Elementwise {
    private static final int LANES = HalfFloats.LANES;
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    private Elementwise() {
    }

    /** Two-pass mean and variance per row (stable for large offsets), biased variance as torch. */
    static void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        for (int r = 0; r < rows; r++) {
            int base = r * dim;
            float mean = sum(x, base, dim) / dim;
            FloatVector m = FloatVector.broadcast(HalfFloats.F, mean);
            FloatVector acc = FloatVector.zero(HalfFloats.F);
            int i = 0;
            for (int bound = dim - LANES; i <= bound; i += LANES) {
                FloatVector d = FloatVector.fromArray(HalfFloats.F, x, base + i).sub(m);
                acc = d.fma(d, acc);
            }
            float var = HalfFloats.sum(acc);
            for (; i < dim; i++) {
                float d = x[base + i] - mean;
                var += d * d;
            }
            float inv = (float) (1 / Math.sqrt(var / dim + eps));
            for (int j = 0; j < dim; j++) {
                out[base + j] = (x[base + j] - mean) * inv * gamma[j] + beta[j];
            }
        }
    }

    private static float sum(float[] x, int base, int n) {
        FloatVector acc = FloatVector.zero(HalfFloats.F);
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            acc = acc.add(FloatVector.fromArray(HalfFloats.F, x, base + i));
        }
        float s = HalfFloats.sum(acc);
        for (; i < n; i++) {
            s += x[base + i];
        }
        return s;
    }

    /**
     * {@code gelu_new}: 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as the
     * equal x / (1 + exp(-2u)). Vectorized with our own exp (Cephes' expf: a degree-5 polynomial
     * after range reduction, about 1 ulp) made only of add, multiply, fma, divide and bit moves,
     * which the Vector API defines exactly: the same bits interpreted, compiled, on every vector
     * width and for every element whatever the split (the tail runs the same lanes, masked). The
     * Vector API's own TANH and EXP are not: compiled they may call another approximation than
     * interpreted, and results must not depend on warm-up.
     */
    static void gelu(float[] x, int n) {
        gelu(x, 0, n);
    }

    /** {@link #gelu} on {@code x[from .. to)}. */
    static void gelu(float[] x, int from, int to) {
        for (int i = from; i < to; i += LANES) {
            VectorMask<Float> inRange = HalfFloats.F.indexInRange(i, to);
            FloatVector v = FloatVector.fromArray(HalfFloats.F, x, i, inRange);
            FloatVector minusTwoU = v.mul(v).mul(v).fma(broadcast(GELU_CUBIC), v).mul(-2 * SQRT_2_OVER_PI);
            v.div(exp(minusTwoU).add(1f)).intoArray(x, i, inRange);
        }
    }

    private static FloatVector broadcast(float c) {
        return FloatVector.broadcast(HalfFloats.F, c);
    }

    private static final float GELU_CUBIC = 0.044715f;
    private static final float LOG2_E = 1.44269504088896341f;
    /** ln 2 split in two (Cody and Waite): the high part has few bits, so n * LN2_HIGH is exact. */
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float below 2^22 to an integer, as round-half-even would. */
    private static final float ROUNDING = 12582912f;

    /**
     * e^t per lane within about 1 ulp, for t in [-87, 88] (clamped there: beyond, gelu's
     * denominator is 1 or dwarfs x); NaN stays NaN.
     */
    private static FloatVector exp(FloatVector t) {
        t = t.max(-87f).min(88f);
        FloatVector n = t.fma(broadcast(LOG2_E), broadcast(ROUNDING)).sub(ROUNDING);
        FloatVector r = n.fma(broadcast(-LN2_HIGH), t);
        r = n.fma(broadcast(-LN2_LOW), r);
        FloatVector p = r.fma(broadcast(1.9875691500e-4f), broadcast(1.3981999507e-3f));
        p = p.fma(r, broadcast(8.3334519073e-3f));
        p = p.fma(r, broadcast(4.1665795894e-2f));
        p = p.fma(r, broadcast(1.6666665459e-1f));
        p = p.fma(r, broadcast(5.0000001201e-1f));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        // 2^n from its exponent bits: n is in [-126, 127], a normal float's range.
        FloatVector twoToN = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return er.mul(twoToN);
    }

    static void relu(float[] x, int n) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            FloatVector.fromArray(HalfFloats.F, x, i).max(0f).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] = Math.max(x[i], 0f);
        }
    }

    static void add(float[] x, float[] y, int n) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            FloatVector.fromArray(HalfFloats.F, x, i).add(FloatVector.fromArray(HalfFloats.F, y, i)).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] += y[i];
        }
    }

    static void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        int oh = h / k;
        int ow = w / k;
        float scale = 1f / (k * k);
        for (int c = 0; c < channels; c++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    float s = 0;
                    for (int ky = 0; ky < k; ky++) {
                        int row = (c * h + oy * k + ky) * w + ox * k;
                        for (int kx = 0; kx < k; kx++) {
                            s += x[row + kx];
                        }
                    }
                    out[(c * oh + oy) * ow + ox] = s * scale;
                }
            }
        }
    }
}
