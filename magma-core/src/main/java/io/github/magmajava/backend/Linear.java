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

    /**
     * Device {@code device}'s part of the layer, as its {@link Split} says: {@code OUTPUT_COLUMNS}
     * maps x [rows, in] to the device's slice of the outputs, y [rows, out / devices] (its bias
     * slice added); {@code INPUT_ROWS} maps the device's slice of the inputs, x [rows, in / devices],
     * to a partial sum y [rows, out] that {@link Backend#allReduce} completes (the bias added by
     * device 0 only). On a single-device backend ({@link Backend#devices()} = 1) this is
     * {@link #forward(float[], int, float[])}.
     */
    default void forward(int device, float[] x, int rows, float[] y) {
        if (device != 0) {
            throw new IllegalArgumentException("device " + device + " does not exist: this layer runs on one device");
        }
        forward(x, rows, y);
    }
}
