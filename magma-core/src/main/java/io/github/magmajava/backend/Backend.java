package io.github.magmajava.backend;

import io.github.magmajava.io.Tensor;
import java.util.function.Supplier;

/**
 * The compute the model code runs on. Models hold weights only as prepared {@link Linear} and
 * {@link Conv2d} objects and call the operations below on plain row-major {@code float[]}
 * activations, so a backend may keep weights in any format (fp16 as mapped, bf16, int8 blocks),
 * shard them ({@link Split}) or stage them per {@link Phase} without any change to model code.
 *
 * <p>Implementations are thread-safe: one loaded model serves concurrent requests, each with its
 * own activation buffers.
 */
public interface Backend extends AutoCloseable {
    String name();

    /**
     * The devices a tensor-parallel block runs on: model code runs each device's part of a block
     * ({@link Linear#forward(int, float[], int, float[])}) and joins the parts with
     * {@link #allReduce}. 1 for a single-device backend, where that is the whole layer.
     */
    default int devices() {
        return 1;
    }

    /**
     * The most rows a {@link Linear} runs as independent rows: up to this many, each output row is
     * bit for bit what that input row alone gives. A batched decode step (one new position of each
     * of several generations) runs in groups of this size, so no generation's answer depends on
     * which others share its steps. Default 1: every row alone.
     */
    default int independentRows() {
        return 1;
    }

    /**
     * Prepares {@code y = x W^T + b} from a [out, in] float16/bfloat16/float32 weight; bias may be
     * null. {@code split} is how a tensor-parallel backend shards it over {@link #devices()}.
     */
    Linear linear(Tensor weight, Tensor bias, Split split);

    /**
     * Prepares a convolution from fp32 weights [out, in, k, k] (BatchNorm already folded in) and
     * a bias [out]; {@code name} is the checkpoint's name of the convolution weight, so a staging
     * backend can find it in its plan.
     */
    Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride,
            int padding);

    /**
     * Sums the devices' partial results into {@code partials[0]}: {@code p0[i] = ((p0[i] + p1[i]) + p2[i]) + ...}
     * for {@code i < n}, always in device order, so that a run is reproducible bit for bit.
     *
     * @return {@code partials[0]}, which then holds the sum (untouched with one device)
     */
    default float[] allReduce(float[][] partials, int n) {
        for (int device = 1; device < partials.length; device++) {
            add(partials[0], partials[device], n);
        }
        return partials[0];
    }

    /** Runs {@code body} as one phase; staging backends load {@code phase.weights()} first. */
    default <T> T run(Phase phase, Supplier<T> body) {
        return body.get();
    }

    /** Rows of a [vocab, dim] float table, gathered into {@code out} [ids.length, dim]. */
    void embedding(Tensor table, int[] ids, float[] out);

    /** Row-wise LayerNorm of x [rows, dim] into out (may alias x). */
    void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out);

    /** In place, the tanh form of GELU ({@code gelu_new}). */
    void gelu(float[] x, int n);

    /** In place, max(x, 0). */
    void relu(float[] x, int n);

    /** In place, {@code x[i] += y[i]} for {@code i < n}. */
    void add(float[] x, float[] y, int n);

    /** Average pooling of x [channels, h, w] with a k x k window and stride k (floor), into out. */
    void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out);

    /**
     * Rotary position embedding in place on x [rows, heads * headDim]: the first {@code rotaryDim}
     * dims of every head, interleaved pairs (GPT-J's {@code rotate_every_two}); row r has position
     * {@code startPos + r}.
     */
    void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos);

    /**
     * Causal multi-head attention of {@code rows} queries at positions {@code startPos ..} against
     * keys/values at positions {@code 0 .. startPos + rows - 1} ({@code kv}: the KV cache of one
     * layer, possibly behind a shared prefix). q and out are [rows, heads*headDim]. Scores are q.k,
     * causally masked, divided by sqrt(headDim), soft-maxed.
     */
    void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out);

    @Override
    default void close() {
    }
}
