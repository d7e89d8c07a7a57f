package io.github.magmajava.ipu;

import io.github.magmajava.backend.Split;

/**
 * One device's share of one tensor: the rows and columns it holds (a vector has one row), in the
 * format it is staged in, and the bytes that takes in the device's memory.
 *
 * @param tensor the checkpoint name (for a folded convolution, its weight's name; the folded
 *               bias travels with it)
 */
public record Shard(String tensor, int device, Split split, Range rows, Range cols, StagedFormat format, long bytes) {
}
