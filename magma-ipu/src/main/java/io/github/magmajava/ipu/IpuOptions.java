package io.github.magmajava.ipu;

import java.util.Objects;

/**
 * How the IPU backend lays the model out: over how many devices of which kind.
 *
 * @param devices tensor-parallel devices (the seed: 4); must divide the config's head count
 * @param device  the kind of device and its memory
 */
public record IpuOptions(int devices, DeviceSpec device) {
    /** The seed's layout: 4 Colossus MK2 IPUs. */
    public static final IpuOptions SEED = new IpuOptions(4, DeviceSpec.IPU_MK2);

    public IpuOptions {
        Objects.requireNonNull(device, "device");
        if (devices < 1) {
            throw new IllegalArgumentException("devices must be >= 1, found " + devices);
        }
    }
}
