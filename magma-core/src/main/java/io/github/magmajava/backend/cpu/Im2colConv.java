package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.AbstractConv2d;
import java.util.concurrent.ForkJoinPool;

/**
 * Convolution as one GEMM: {@code y[out, p] = W[out, in*k*k] . patches[p, in*k*k]^T}. The output
 * comes out channel-major ([out, oh*ow], i.e. CHW) without a transpose; a 1x1 stride-1 conv
 * only transposes its input.
 */
final class Im2colConv extends AbstractConv2d {
    private final float[] weights;
    private final float[] bias;
    private final ForkJoinPool pool;

    Im2colConv(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding, ForkJoinPool pool) {
        super(weight, bias, in, out, kernel, stride, padding);
        this.weights = weight.clone();
        this.bias = bias.clone();
        this.pool = pool;
    }

    @Override
    public void forward(float[] x, int h, int w, float[] y) {
        int in = inChannels();
        int out = outChannels();
        int kernel = kernel();
        int oh = outSize(h);
        int ow = outSize(w);
        int positions = oh * ow;
        int depth = in * kernel * kernel;
        if (x.length < in * h * w || y.length < out * positions) {
            throw new IllegalArgumentException("conv2d: buffers too small for [" + in + ", " + h + ", " + w + "] -> ["
                    + out + ", " + oh + ", " + ow + "]");
        }
        float[] patches = new float[positions * depth];
        im2col(x, h, w, oh, ow, patches);
        // Rows of the product are output channels, columns are positions: y is CHW directly.
        Gemm.multiply(weights, out, depth, WeightMatrix.of(patches, positions, depth), null, y, pool);
        for (int o = 0; o < out; o++) {
            float b = bias[o];
            int base = o * positions;
            for (int p = 0; p < positions; p++) {
                y[base + p] += b;
            }
        }
    }

    /** patches[p, (c*k + ky)*k + kx] = x[c, oy*s - pad + ky, ox*s - pad + kx], zero outside. */
    private void im2col(float[] x, int h, int w, int oh, int ow, float[] patches) {
        int in = inChannels();
        int kernel = kernel();
        int stride = stride();
        int padding = padding();
        int depth = in * kernel * kernel;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int row = (oy * ow + ox) * depth;
                for (int c = 0; c < in; c++) {
                    for (int ky = 0; ky < kernel; ky++) {
                        int iy = oy * stride - padding + ky;
                        int dst = row + (c * kernel + ky) * kernel;
                        if (iy < 0 || iy >= h) {
                            continue;
                        }
                        int src = (c * h + iy) * w;
                        for (int kx = 0; kx < kernel; kx++) {
                            int ix = ox * stride - padding + kx;
                            if (ix >= 0 && ix < w) {
                                patches[dst + kx] = x[src + ix];
                            }
                        }
                    }
                }
            }
        }
    }
}
