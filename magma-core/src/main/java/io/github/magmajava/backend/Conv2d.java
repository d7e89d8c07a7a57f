package io.github.magmajava.backend;

/** A prepared square 2-D convolution with bias, on one CHW image. */
public interface Conv2d {
    int inChannels();

    int outChannels();

    int kernel();

    int stride();

    int padding();

    default int outSize(int inSize) {
        return (inSize + 2 * padding() - kernel()) / stride() + 1;
    }

    /** x is [inChannels, h, w]; y is [outChannels, outSize(h), outSize(w)]. */
    void forward(float[] x, int h, int w, float[] y);
}
