package io.github.magmajava.backend.cpu;

import jdk.incubator.vector.FloatVector;

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
     * {@code gelu_new}: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Scalar on purpose: the
     * Vector API's TANH may use a different approximation once compiled than in the interpreter,
     * and results must not depend on warm-up; {@link Math#tanh} is the same in both.
     */
    static void gelu(float[] x, int n) {
        gelu(x, 0, n);
    }

    /** {@link #gelu} on {@code x[from .. to)}. */
    static void gelu(float[] x, int from, int to) {
        for (int i = from; i < to; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1f + (float) Math.tanh(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v)));
        }
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
