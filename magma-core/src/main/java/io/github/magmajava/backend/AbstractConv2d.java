package io.github.magmajava.backend;

/**
 * The geometry half of a {@link Conv2d}, checked once: backends extend it with {@code forward}.
 */
public abstract class AbstractConv2d implements Conv2d {
    private final int in;
    private final int out;
    private final int kernel;
    private final int stride;
    private final int padding;

    /** @throws IllegalArgumentException when the geometry is impossible or the arrays do not match it */
    protected AbstractConv2d(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding) {
        if (in < 1 || out < 1 || kernel < 1 || stride < 1 || padding < 0) {
            throw new IllegalArgumentException("conv2d: bad geometry in=" + in + " out=" + out + " kernel=" + kernel
                    + " stride=" + stride + " padding=" + padding);
        }
        if (weight.length != (long) out * in * kernel * kernel || bias.length != out) {
            throw new IllegalArgumentException("conv2d: weight has " + weight.length + " values, expected "
                    + (long) out * in * kernel * kernel + "; bias has " + bias.length + ", expected " + out);
        }
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
