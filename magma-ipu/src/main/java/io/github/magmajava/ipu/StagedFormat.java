package io.github.magmajava.ipu;

/** How a shard sits in a device's memory. */
public enum StagedFormat {
    /** As the checkpoint stores it: 2 bytes per value. */
    FLOAT16,
    /** 4 bytes per value: folded convolutions, biases and norms, and int8 shards whose columns cut a block. */
    FLOAT32,
    /** The int8 cache's blocks: 1 byte per value plus a float16 scale per 32 values of a row. */
    Q8
}
