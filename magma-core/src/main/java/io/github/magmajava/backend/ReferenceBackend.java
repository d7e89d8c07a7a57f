package io.github.magmajava.backend;

import io.github.magmajava.io.Tensor;

/**
 * The naive, obviously correct backend: plain loops in float (double where a sum is long), one
 * thread, weights read element by element from their tensors. Fast backends are tested against
 * it; it is far too slow for full-size models.
 */
public final class ReferenceBackend implements Backend {

    @Override
    public String name() {
        return "reference";
    }

    /** Each row is its own loop of double sums: independent however many rows run. */
    @Override
    public int independentRows() {
        return Integer.MAX_VALUE;
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias, Split split) {
        Shapes.checkLinear(weight, bias);
        int out = (int) weight.dim(0);
        int in = (int) weight.dim(1);
        return new Linear() {
            @Override
            public int inFeatures() {
                return in;
            }

            @Override
            public int outFeatures() {
                return out;
            }

            @Override
            public void forward(float[] x, int rows, float[] y) {
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < out; o++) {
                        double sum = bias == null ? 0 : bias.getFloat(o);
                        for (int i = 0; i < in; i++) {
                            sum += (double) x[r * in + i] * weight.getFloat((long) o * in + i);
                        }
                        y[r * out + o] = (float) sum;
                    }
                }
            }
        };
    }

    @Override
    public Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride, int padding) {
        return new AbstractConv2d(weight, bias, inChannels, outChannels, kernel, stride, padding) {
            @Override
            public void forward(float[] x, int h, int w, float[] y) {
                int oh = outSize(h);
                int ow = outSize(w);
                for (int o = 0; o < outChannels; o++) {
                    for (int oy = 0; oy < oh; oy++) {
                        for (int ox = 0; ox < ow; ox++) {
                            double sum = bias[o];
                            for (int c = 0; c < inChannels; c++) {
                                for (int ky = 0; ky < kernel; ky++) {
                                    int iy = oy * stride - padding + ky;
                                    if (iy < 0 || iy >= h) {
                                        continue;
                                    }
                                    for (int kx = 0; kx < kernel; kx++) {
                                        int ix = ox * stride - padding + kx;
                                        if (ix >= 0 && ix < w) {
                                            sum += (double) x[(c * h + iy) * w + ix]
                                                    * weight[((o * inChannels + c) * kernel + ky) * kernel + kx];
                                        }
                                    }
                                }
                            }
                            y[(o * oh + oy) * ow + ox] = (float) sum;
                        }
                    }
                }
            }
        };
    }

    @Override
    public void embedding(Tensor table, int[] ids, float[] out) {
        int dim = (int) table.dim(1);
        for (int r = 0; r < ids.length; r++) {
            Shapes.checkId(table, ids[r]);
            for (int i = 0; i < dim; i++) {
                out[r * dim + i] = table.getFloat((long) ids[r] * dim + i);
            }
        }
    }

    @Override
    public void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        for (int r = 0; r < rows; r++) {
            int base = r * dim;
            double mean = 0;
            for (int i = 0; i < dim; i++) {
                mean += x[base + i];
            }
            mean /= dim;
            double var = 0;
            for (int i = 0; i < dim; i++) {
                double d = x[base + i] - mean;
                var += d * d;
            }
            var /= dim;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < dim; i++) {
                out[base + i] = (float) ((x[base + i] - mean) * inv * gamma[i] + beta[i]);
            }
        }
    }

    @Override
    public void gelu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        }
    }

    @Override
    public void relu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            x[i] = Math.max(x[i], 0f);
        }
    }

    @Override
    public void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    @Override
    public void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        int oh = h / k;
        int ow = w / k;
        for (int c = 0; c < channels; c++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double sum = 0;
                    for (int ky = 0; ky < k; ky++) {
                        for (int kx = 0; kx < k; kx++) {
                            sum += x[(c * h + oy * k + ky) * w + ox * k + kx];
                        }
                    }
                    out[(c * oh + oy) * ow + ox] = (float) (sum / (k * k));
                }
            }
        }
    }

    @Override
    public void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        for (int r = 0; r < rows; r++) {
            int pos = startPos + r;
            for (int h = 0; h < heads; h++) {
                int off = r * heads * headDim + h * headDim;
                for (int i = 0; i < rotaryDim / 2; i++) {
                    double angle = pos / Math.pow(base, 2.0 * i / rotaryDim);
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    double a = x[off + 2 * i];
                    double b = x[off + 2 * i + 1];
                    x[off + 2 * i] = (float) (a * cos - b * sin);
                    x[off + 2 * i + 1] = (float) (b * cos + a * sin);
                }
            }
        }
    }

    @Override
    public void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out) {
        int d = heads * headDim;
        double scale = 1 / Math.sqrt(headDim);
        for (int r = 0; r < rows; r++) {
            int visible = startPos + r + 1;
            for (int h = 0; h < heads; h++) {
                double[] scores = new double[visible];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = 0; p < visible; p++) {
                    double s = 0;
                    for (int i = 0; i < headDim; i++) {
                        s += (double) q[r * d + h * headDim + i] * kv.keysAt(p)[kv.rowOf(p) * d + h * headDim + i];
                    }
                    scores[p] = s * scale;
                    max = Math.max(max, scores[p]);
                }
                double total = 0;
                for (int p = 0; p < visible; p++) {
                    scores[p] = Math.exp(scores[p] - max);
                    total += scores[p];
                }
                for (int i = 0; i < headDim; i++) {
                    double acc = 0;
                    for (int p = 0; p < visible; p++) {
                        acc += scores[p] * kv.valuesAt(p)[kv.rowOf(p) * d + h * headDim + i];
                    }
                    out[r * d + h * headDim + i] = (float) (acc / total);
                }
            }
        }
    }
}
