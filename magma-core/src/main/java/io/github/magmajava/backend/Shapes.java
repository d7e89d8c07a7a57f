package io.github.magmajava.backend;

import io.github.magmajava.io.Tensor;
import java.util.Arrays;

/** Argument checks and the shape bookkeeping every backend shares. */
final class Shapes {
    private Shapes() {
    }

    static void checkLinear(Tensor weight, Tensor bias) {
        if (weight.rank() != 2 || !weight.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("linear weight " + weight.name() + " must be a 2-D float tensor [out, in], found "
                    + weight.describe());
        }
        if (bias != null && !bias.hasShape(weight.dim(0))) {
            throw new IllegalArgumentException("linear bias " + bias.name() + " must be [" + weight.dim(0) + "], found "
                    + Arrays.toString(bias.shape()));
        }
    }

    static void checkConv(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding) {
        if (in < 1 || out < 1 || kernel < 1 || stride < 1 || padding < 0) {
            throw new IllegalArgumentException("conv2d: bad geometry in=" + in + " out=" + out + " kernel=" + kernel
                    + " stride=" + stride + " padding=" + padding);
        }
        if (weight.length != out * in * kernel * kernel || bias.length != out) {
            throw new IllegalArgumentException("conv2d: weight has " + weight.length + " values, expected " + out * in * kernel * kernel
                    + "; bias has " + bias.length + ", expected " + out);
        }
    }

    static void checkId(Tensor table, int id) {
        if (id < 0 || id >= table.dim(0)) {
            throw new IllegalArgumentException("token id " + id + " has no row in " + table.name() + " (" + table.dim(0) + " rows)");
        }
    }

    /** The geometry half of a {@link Conv2d}; backends add {@code forward}. */
    abstract static class ConvSpec implements Conv2d {
        private final int in;
        private final int out;
        private final int kernel;
        private final int stride;
        private final int padding;

        ConvSpec(int in, int out, int kernel, int stride, int padding) {
            this.in = in;
            this.out = out;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
        }

        @Override
        public int inChannels() {
            return in;
        }

        @Override
        public int outChannels() {
            return out;
        }

        @Override
        public int kernel() {
            return kernel;
        }

        @Override
        public int stride() {
            return stride;
        }

        @Override
        public int padding() {
            return padding;
        }
    }
}
