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

    static void checkId(Tensor table, int id) {
        if (id < 0 || id >= table.dim(0)) {
            throw new IllegalArgumentException("token id " + id + " has no row in " + table.name() + " (" + table.dim(0) + " rows)");
        }
    }
}
