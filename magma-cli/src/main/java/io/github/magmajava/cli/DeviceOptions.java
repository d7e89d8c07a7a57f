package io.github.magmajava.cli;

import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.ipu.DeviceSpec;
import io.github.magmajava.ipu.IpuOptions;
import picocli.CommandLine.Option;

/** The device layout and sequence mode: shared by {@code generate}, {@code bench} (with {@code --backend ipu}) and {@code plan}. */
final class DeviceOptions {
    @Option(names = "--devices", paramLabel = "N", converter = OptionValues.Positive.class,
            description = "Tensor-parallel devices of the ipu backend; must divide the attention heads (default: 4, as the seed).")
    Integer devices;

    @Option(names = "--device", paramLabel = "KIND", converter = OptionValues.Device.class,
            description = "ipu-mk2 or bow (900 MB of in-processor memory each) or host (unlimited) (default: ipu-mk2).")
    DeviceSpec device;

    @Option(names = "--device-memory", paramLabel = "SIZE", converter = OptionValues.Size.class,
            description = "Memory per device instead of the kind's: bytes, or e.g. 900MB, 512MiB, 1.5GiB.")
    Long deviceMemory;

    @Option(names = "--sequence-mode", paramLabel = "MODE", converter = OptionValues.Mode.class, defaultValue = "kv-cache",
            description = "kv-cache: the prompt once, then one token per step against a cache; static: the seed's, the"
                    + " text padded to the config's sequence length and rerun whole for every token (default: ${DEFAULT-VALUE}).")
    SequenceMode sequenceMode;

    IpuOptions ipuOptions() {
        DeviceSpec kind = device != null ? device : DeviceSpec.IPU_MK2;
        return new IpuOptions(devices != null ? devices : IpuOptions.SEED.devices(),
                deviceMemory != null ? kind.withMemory(deviceMemory) : kind);
    }

    /** The options that only the ipu backend reads, as typed, or null when none was given. */
    String ipuOnlyOption() {
        return devices != null ? "--devices" : device != null ? "--device" : deviceMemory != null ? "--device-memory" : null;
    }
}
