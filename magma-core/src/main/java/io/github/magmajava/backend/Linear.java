package io.github.magmajava.backend;

/** A prepared {@code y = x W^T + b}: W is [outFeatures, inFeatures], x is [rows, inFeatures] row-major. */
public interface Linear {
    int inFeatures();

    int outFeatures();

    /**
     * Writes {@code y[r, o] = sum_i x[r, i] W[o, i] + b[o]} for {@code r < rows}. x and y are
     * row-major and must not overlap.
     */
    void forward(float[] x, int rows, float[] y);
}
