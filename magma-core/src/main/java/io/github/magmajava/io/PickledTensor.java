package io.github.magmajava.io;

import java.util.List;

/**
 * A tensor as a torch pickle describes it ({@code torch._utils._rebuild_tensor_v2}): a view of
 * {@code shape} with {@code stride} (in elements) starting {@code storageOffset} elements into a
 * storage. {@link TorchCheckpoint} turns those of the state dict into {@link Tensor}s; others
 * (optimizer state, extra entries) stay in {@link TorchCheckpoint#root()} as this record.
 */
public record PickledTensor(TorchStorage storage, long storageOffset, List<Long> shape, List<Long> stride,
        boolean requiresGrad) {
    public PickledTensor {
        shape = List.copyOf(shape);
        stride = List.copyOf(stride);
    }
}
