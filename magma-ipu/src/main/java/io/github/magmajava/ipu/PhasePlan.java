package io.github.magmajava.ipu;

import java.util.Arrays;
import java.util.List;

/**
 * What one phase needs on each device: the shards staged into its memory before the phase runs,
 * the activation bytes it reserves, the KV cache bytes of its layer, and the all-reduces that join
 * the devices' partial sums.
 *
 * @param name             as the model names the phase: {@code image prefix}, {@code embedding},
 *                         {@code block N}, {@code lm head}
 * @param perToken         whether the phase runs for every generated token (the image prefix runs once per image)
 * @param shards           every device's shards, in device then tensor order
 * @param activationBytes  per device: the phase's activation buffers at the plan's largest rows
 * @param kvCacheBytes     per device: the KV cache of the phase's layer ({@code kv-cache} mode)
 * @param allReduces       all-reduces per run of the phase
 */
public record PhasePlan(String name, boolean perToken, List<Shard> shards, long[] activationBytes, long[] kvCacheBytes,
        int allReduces) {
    public PhasePlan {
        shards = List.copyOf(shards);
        activationBytes = activationBytes.clone();
        kvCacheBytes = kvCacheBytes.clone();
    }

    public int devices() {
        return activationBytes.length;
    }

    public List<Shard> shards(int device) {
        return shards.stream().filter(s -> s.device() == device).toList();
    }

    public long weightBytes(int device) {
        return shards.stream().filter(s -> s.device() == device).mapToLong(Shard::bytes).sum();
    }

    public long activationBytes(int device) {
        return activationBytes[device];
    }

    public long kvCacheBytes(int device) {
        return kvCacheBytes[device];
    }

    public long totalBytes(int device) {
        return weightBytes(device) + activationBytes[device] + kvCacheBytes[device];
    }

    /** Weight bytes of every device together: what one run of the phase streams in. */
    public long stagedBytes() {
        return shards.stream().mapToLong(Shard::bytes).sum();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PhasePlan p && name.equals(p.name) && perToken == p.perToken && shards.equals(p.shards)
                && Arrays.equals(activationBytes, p.activationBytes) && Arrays.equals(kvCacheBytes, p.kvCacheBytes)
                && allReduces == p.allReduces;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + shards.hashCode();
    }

    @Override
    public String toString() {
        return "PhasePlan[" + name + ", " + shards.size() + " shards]";
    }
}
