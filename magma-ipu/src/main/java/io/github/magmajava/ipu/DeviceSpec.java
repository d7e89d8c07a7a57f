package io.github.magmajava.ipu;

import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A kind of device and the memory each one has for a phase: weights, activations and KV cache.
 *
 * @param name        {@code ipu-mk2}, {@code bow}, {@code host}, as the command line spells it
 * @param memoryBytes bytes per device; {@link Long#MAX_VALUE} for unlimited ({@code host})
 */
public record DeviceSpec(String name, long memoryBytes) {
    /**
     * In-processor memory of a Colossus MK2 IPU (GC200, also in the Bow IPU): 1472 tiles of 624 KiB,
     * the "900 MB" of Graphcore's data sheets.
     */
    public static final long IPU_MEMORY_BYTES = 1472L * 624 * 1024;
    public static final DeviceSpec IPU_MK2 = new DeviceSpec("ipu-mk2", IPU_MEMORY_BYTES);
    public static final DeviceSpec BOW = new DeviceSpec("bow", IPU_MEMORY_BYTES);
    /** The host's memory: no limit but the machine's; the plan's peak is what is allocated. */
    public static final DeviceSpec HOST = new DeviceSpec("host", Long.MAX_VALUE);
    private static final List<DeviceSpec> KNOWN = List.of(IPU_MK2, BOW, HOST);
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|K|M|G|T)",
            Pattern.CASE_INSENSITIVE);

    public DeviceSpec {
        Objects.requireNonNull(name, "name");
        if (memoryBytes < 1) {
            throw new IllegalArgumentException("device memory must be at least 1 byte, found " + memoryBytes);
        }
    }

    /** @throws IllegalArgumentException for an unknown name, listing the known ones */
    public static DeviceSpec named(String name) {
        for (DeviceSpec d : KNOWN) {
            if (d.name.equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown device '" + name + "', expected one of ipu-mk2, bow, host");
    }

    /** The same device with {@code bytes} of memory each ({@code --device-memory}). */
    public DeviceSpec withMemory(long bytes) {
        return new DeviceSpec(name, bytes);
    }

    public boolean unlimited() {
        return memoryBytes == Long.MAX_VALUE;
    }

    /**
     * Parses a size such as {@code 900MB}, {@code 512MiB}, {@code 1.5GiB} or {@code 123456} (bytes):
     * KB, MB, GB are powers of 1000, KiB, MiB, GiB (and K, M, G) of 1024.
     *
     * @throws IllegalArgumentException for anything else, zero, or more than {@link Long#MAX_VALUE}
     */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size: give bytes, or a number with KB, MB, GB (1000s)"
                    + " or KiB, MiB, GiB (1024s)");
        }
        String unit = m.group(2).toUpperCase(Locale.ROOT);
        long scale = switch (unit) {
            case "", "B" -> 1;
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            case "K", "KIB" -> 1L << 10;
            case "M", "MIB" -> 1L << 20;
            case "G", "GIB" -> 1L << 30;
            default -> 1L << 40;
        };
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(scale));
        if (bytes.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("size '" + text + "' is not a whole number of bytes");
        }
        if (bytes.compareTo(BigDecimal.ONE) < 0 || bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("size '" + text + "' must be from 1 byte to " + Long.MAX_VALUE + " bytes");
        }
        return bytes.longValue();
    }
}
