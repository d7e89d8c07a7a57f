package io.github.magmajava.quant;

import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Int8 weights by the name of the weight they replace: an opened q8 cache file ({@link Q8Cache}),
 * the pairs embedded in a converted model file ({@link #embedded}), or tensors quantized on the heap. A backend asks {@link #find} for every Linear weight and uses
 * the int8 form when there is one. Closing unmaps the file; the backend must not be used after.
 */
public final class Q8Weights implements AutoCloseable {
    private final Path path;
    private final TensorFile file;
    private final Map<String, Q8Tensor> tensors;

    private Q8Weights(Path path, TensorFile file, Map<String, Q8Tensor> tensors) {
        this.path = path;
        this.file = file;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * The pairs {@code <name>.q8} and {@code <name>.scale} of an open file, which this object then
     * owns (closing it closes the file).
     *
     * @throws CheckpointException naming the file and the tensor when a pair is incomplete, mis-typed
     *                             or mis-shaped, or the file holds anything else
     */
    public static Q8Weights of(TensorFile file) throws CheckpointException {
        return new Q8Weights(file.path(), file, pairs(file, true));
    }

    /**
     * The int8 weights a model file holds beside its other tensors (a file written by
     * {@code magma convert --weights q8}, docs/convert.md): its {@code <name>.q8} and
     * {@code <name>.scale} pairs; empty when it has no {@code .q8} tensor. The file stays the
     * caller's: closing the result leaves it open.
     *
     * @throws CheckpointException naming the file and the tensor when a pair is incomplete, mis-typed or mis-shaped
     */
    public static Optional<Q8Weights> embedded(TensorFile file) throws CheckpointException {
        Map<String, Q8Tensor> pairs = pairs(file, false);
        return pairs.isEmpty() ? Optional.empty() : Optional.of(new Q8Weights(file.path(), null, pairs));
    }

    /** The pairs of {@code file}; with {@code only}, any other tensor is an error. */
    private static Map<String, Q8Tensor> pairs(TensorFile file, boolean only) throws CheckpointException {
        Map<String, Q8Tensor> pairs = new LinkedHashMap<>();
        Map<String, Tensor> all = file.tensors();
        for (Tensor t : all.values()) {
            if (t.name().endsWith(Q8Cache.VALUES_SUFFIX)) {
                String name = t.name().substring(0, t.name().length() - Q8Cache.VALUES_SUFFIX.length());
                Tensor scales = all.get(name + Q8Cache.SCALES_SUFFIX);
                if (scales == null) {
                    throw new CheckpointException(file.path(), "q8 tensor " + t.name() + " has no " + name + Q8Cache.SCALES_SUFFIX);
                }
                try {
                    pairs.put(name, new Q8Tensor(name, t, scales));
                } catch (IllegalArgumentException e) {
                    throw new CheckpointException(file.path(), e.getMessage());
                }
            } else if (only && (!t.name().endsWith(Q8Cache.SCALES_SUFFIX)
                    || !all.containsKey(t.name().substring(0, t.name().length() - Q8Cache.SCALES_SUFFIX.length()) + Q8Cache.VALUES_SUFFIX))) {
                throw new CheckpointException(file.path(), "tensor " + t.name() + " is not part of a q8 pair (<name>"
                        + Q8Cache.VALUES_SUFFIX + ", <name>" + Q8Cache.SCALES_SUFFIX + ")");
            }
        }
        return pairs;
    }

    /** Tensors quantized in memory (tests, small models); nothing to close. */
    public static Q8Weights of(Iterable<Q8Tensor> quantized) {
        Map<String, Q8Tensor> map = new LinkedHashMap<>();
        for (Q8Tensor q : quantized) {
            if (map.put(q.name(), q) != null) {
                throw new IllegalArgumentException("q8 weight " + q.name() + " given twice");
            }
        }
        return new Q8Weights(null, null, map);
    }

    /**
     * The int8 form of {@code weight}, matched by name; empty when there is none.
     *
     * @throws IllegalArgumentException when the int8 tensor of that name has another shape (it was
     *                                  made from another checkpoint)
     */
    public Optional<Q8Tensor> find(Tensor weight) {
        Q8Tensor q = tensors.get(weight.name());
        if (q != null && !q.fits(weight.shape())) {
            throw new IllegalArgumentException("q8 weight " + weight.name() + (path == null ? "" : " in " + path)
                    + " is [" + q.rows() + ", " + q.cols() + "] but the weight is " + Arrays.toString(weight.shape())
                    + ": the int8 weights belong to another checkpoint");
        }
        return Optional.ofNullable(q);
    }

    /** Every int8 weight by source name. */
    public Map<String, Q8Tensor> tensors() {
        return tensors;
    }

    /** The file these weights are read from (the cache, or a converted model file), when they come from one. */
    public Optional<Path> path() {
        return Optional.ofNullable(path);
    }

    @Override
    public void close() {
        if (file != null) {
            file.close();
        }
    }

    @Override
    public String toString() {
        return "Q8Weights[" + tensors.size() + " weights" + (path == null ? "" : ", " + path) + "]";
    }
}
