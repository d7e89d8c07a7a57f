package io.github.magmajava.clip;

import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BatchNormWeights;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ConvBn;
import io.github.magmajava.weights.ImagePrefixWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.util.List;

/**
 * The test oracle: CLIP's encoder and MAGMA's prefix written out in double, straight from the
 * PyTorch module definitions, with every BatchNorm applied unfused and nothing shared with the
 * code under test.
 */
final class NaiveResNet {
    private NaiveResNet() {
    }

    /** A [c, h, w] activation in double. */
    record Map3(double[] v, int c, int h, int w) {
        static Map3 of(float[] data, int c, int h, int w) {
            double[] v = new double[data.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = data[i];
            }
            return new Map3(v, c, h, w);
        }

        double at(int ch, int y, int x) {
            return v[(ch * h + y) * w + x];
        }
    }

    static Map3 conv(Map3 x, Tensor weight, int stride, int padding) {
        int out = (int) weight.dim(0);
        int k = (int) weight.dim(2);
        int oh = (x.h + 2 * padding - k) / stride + 1;
        int ow = (x.w + 2 * padding - k) / stride + 1;
        double[] y = new double[out * oh * ow];
        for (int o = 0; o < out; o++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double sum = 0;
                    for (int c = 0; c < x.c; c++) {
                        for (int ky = 0; ky < k; ky++) {
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride - padding + ky;
                                int ix = ox * stride - padding + kx;
                                if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) {
                                    sum += x.at(c, iy, ix) * weight.getFloat(((long) (o * x.c + c) * k + ky) * k + kx);
                                }
                            }
                        }
                    }
                    y[(o * oh + oy) * ow + ox] = sum;
                }
            }
        }
        return new Map3(y, out, oh, ow);
    }

    /** Eval-mode BatchNorm2d: (x - mean) / sqrt(var + 1e-5) * gamma + beta. */
    static Map3 batchNorm(Map3 x, BatchNormWeights bn) {
        double[] y = new double[x.v.length];
        int plane = x.h * x.w;
        for (int c = 0; c < x.c; c++) {
            double inv = 1 / Math.sqrt(bn.runningVar().getFloat(c) + 1e-5);
            for (int i = c * plane; i < (c + 1) * plane; i++) {
                y[i] = (x.v[i] - bn.runningMean().getFloat(c)) * inv * bn.weight().getFloat(c) + bn.bias().getFloat(c);
            }
        }
        return new Map3(y, x.c, x.h, x.w);
    }

    static Map3 convBn(Map3 x, ConvBn cb, int stride, int padding) {
        return batchNorm(conv(x, cb.conv(), stride, padding), cb.bn());
    }

    static Map3 relu(Map3 x) {
        double[] y = x.v.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] = Math.max(0, y[i]);
        }
        return new Map3(y, x.c, x.h, x.w);
    }

    static Map3 avgPool(Map3 x, int k) {
        int oh = x.h / k;
        int ow = x.w / k;
        double[] y = new double[x.c * oh * ow];
        for (int c = 0; c < x.c; c++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double sum = 0;
                    for (int i = 0; i < k * k; i++) {
                        sum += x.at(c, oy * k + i / k, ox * k + i % k);
                    }
                    y[(c * oh + oy) * ow + ox] = sum / (k * k);
                }
            }
        }
        return new Map3(y, x.c, oh, ow);
    }

    static Map3 add(Map3 a, Map3 b) {
        double[] y = a.v.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] += b.v[i];
        }
        return new Map3(y, a.c, a.h, a.w);
    }

    static Map3 stem(Map3 image, ResNetWeights w) {
        Map3 x = relu(convBn(image, w.stem1(), 2, 1));
        x = relu(convBn(x, w.stem2(), 1, 1));
        x = relu(convBn(x, w.stem3(), 1, 1));
        return avgPool(x, 2);
    }

    static Map3 bottleneck(Map3 x, BottleneckWeights b) {
        Map3 out = relu(convBn(x, b.conv1(), 1, 0));
        out = relu(convBn(out, b.conv2(), 1, 1));
        if (b.stride() > 1) {
            out = avgPool(out, b.stride());
        }
        out = convBn(out, b.conv3(), 1, 0);
        Map3 identity = x;
        if (b.downsample().isPresent()) {
            identity = convBn(b.stride() > 1 ? avgPool(x, b.stride()) : x, b.downsample().get(), 1, 0);
        }
        return relu(add(out, identity));
    }

    static Map3 resnet(Map3 image, ResNetWeights w) {
        Map3 x = stem(image, w);
        for (List<BottleneckWeights> stage : w.stages()) {
            for (BottleneckWeights b : stage) {
                x = bottleneck(x, b);
            }
        }
        return x;
    }

    /** [g*g, d]: token h*g + w is LayerNorm(proj(grid[:, h, w])). */
    static double[] imagePrefix(Map3 image, ImagePrefixWeights p) {
        Map3 grid = resnet(image, p.encoder());
        int d = (int) p.projWeight().dim(0);
        int tokens = grid.h * grid.w;
        double[] out = new double[tokens * d];
        for (int h = 0; h < grid.h; h++) {
            for (int w = 0; w < grid.w; w++) {
                int token = h * grid.w + w;
                double[] y = new double[d];
                for (int o = 0; o < d; o++) {
                    double sum = p.projBias().getFloat(o);
                    for (int c = 0; c < grid.c; c++) {
                        sum += grid.at(c, h, w) * p.projWeight().getFloat((long) o * grid.c + c);
                    }
                    y[o] = sum;
                }
                double mean = 0;
                for (double v : y) {
                    mean += v / d;
                }
                double var = 0;
                for (double v : y) {
                    var += (v - mean) * (v - mean) / d;
                }
                for (int o = 0; o < d; o++) {
                    out[token * d + o] = (y[o] - mean) / Math.sqrt(var + 1e-5) * p.lnWeight().getFloat(o) + p.lnBias().getFloat(o);
                }
            }
        }
        return out;
    }
}
