package io.github.magmajava.gptj;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.LanguageModelWeights;

/**
 * GPT-J with MAGMA's adapters written out from SPEC.md in double precision over the whole
 * sequence, with no cache and no backend: an oracle independent of the code under test. The mask
 * is applied as PyTorch does it (masked scores set to -1e9, then divided by sqrt(headDim)).
 */
final class NaiveGptj {
    private final LanguageModelWeights w;
    private final TransformerConfig t;

    NaiveGptj(LanguageModelWeights w, MagmaConfig config) {
        this.w = w;
        this.t = config.transformer();
    }

    /** The logits [vocabSize] of the last of {@code rows} input rows. */
    double[] logits(float[] input, int rows) {
        int d = t.hiddenSize();
        double[][] x = new double[rows][d];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                x[r][i] = input[r * d + i];
            }
        }
        for (BlockWeights b : w.blocks()) {
            double[][] h = layerNorm(x, b.ln1Weight(), b.ln1Bias());
            double[][] a = attention(h, b);
            double[][] m = linear(gelu(linear(h, b.fcWeight(), b.fcBias())), b.projWeight(), b.projBias());
            double[][] up = linear(relu(linear(m, b.adapterDownWeight(), b.adapterDownBias())), b.adapterUpWeight(), b.adapterUpBias());
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < d; i++) {
                    x[r][i] += a[r][i] + m[r][i] + up[r][i];
                }
            }
        }
        double[][] last = layerNorm(new double[][] {x[rows - 1]}, w.lnFWeight(), w.lnFBias());
        return linear(last, w.lmHeadWeight(), w.lmHeadBias())[0];
    }

    private double[][] attention(double[][] h, BlockWeights b) {
        int rows = h.length;
        int d = t.hiddenSize();
        int hd = t.headDim();
        double[][] q = rotate(linear(h, b.qProj(), null));
        double[][] k = rotate(linear(h, b.kProj(), null));
        double[][] v = linear(h, b.vProj(), null);
        double[][] ctx = new double[rows][d];
        for (int head = 0; head < t.heads(); head++) {
            int off = head * hd;
            for (int i = 0; i < rows; i++) {
                double[] p = new double[rows];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < rows; j++) {
                    double s = 0;
                    for (int c = 0; c < hd; c++) {
                        s += q[i][off + c] * k[j][off + c];
                    }
                    p[j] = (j > i ? -1e9 : s) / Math.sqrt(hd);
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < rows; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int j = 0; j < rows; j++) {
                    for (int c = 0; c < hd; c++) {
                        ctx[i][off + c] += p[j] / sum * v[j][off + c];
                    }
                }
            }
        }
        return linear(ctx, b.outProj(), null);
    }

    /** rotate_every_two on the first rotaryDim dims of every head, position = row. */
    private double[][] rotate(double[][] x) {
        int hd = t.headDim();
        int rot = t.rotaryDim();
        for (int pos = 0; pos < x.length; pos++) {
            for (int head = 0; head < t.heads(); head++) {
                for (int i = 0; i < rot / 2; i++) {
                    double invFreq = 1 / Math.pow(t.rotaryBase(), (2.0 * i) / rot);
                    double cos = Math.cos(pos * invFreq);
                    double sin = Math.sin(pos * invFreq);
                    int e = head * hd + 2 * i;
                    double even = x[pos][e];
                    double odd = x[pos][e + 1];
                    x[pos][e] = even * cos - odd * sin;
                    x[pos][e + 1] = odd * cos + even * sin;
                }
            }
        }
        return x;
    }

    private static double[][] linear(double[][] x, Tensor weight, Tensor bias) {
        int out = (int) weight.dim(0);
        int in = (int) weight.dim(1);
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias.getFloat(o);
                for (int i = 0; i < in; i++) {
                    s += x[r][i] * weight.getFloat((long) o * in + i);
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x, Tensor gamma, Tensor beta) {
        double[][] y = new double[x.length][];
        for (int r = 0; r < x.length; r++) {
            int n = x[r].length;
            double mean = 0;
            for (double v : x[r]) {
                mean += v / n;
            }
            double var = 0;
            for (double v : x[r]) {
                var += (v - mean) * (v - mean) / n;
            }
            y[r] = new double[n];
            for (int i = 0; i < n; i++) {
                y[r][i] = (x[r][i] - mean) / Math.sqrt(var + 1e-5) * gamma.getFloat(i) + beta.getFloat(i);
            }
        }
        return y;
    }

    private static double[][] gelu(double[][] x) {
        for (double[] row : x) {
            for (int i = 0; i < row.length; i++) {
                double v = row[i];
                row[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * Math.pow(v, 3))));
            }
        }
        return x;
    }

    private static double[][] relu(double[][] x) {
        for (double[] row : x) {
            for (int i = 0; i < row.length; i++) {
                row[i] = Math.max(row[i], 0);
            }
        }
        return x;
    }
}
