package io.github.magmajava.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Human-readable sizes and this process's memory figures. */
final class CliFormat {
    private CliFormat() {
    }

    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.2f %s", v, units[u]);
    }

    /** VmHWM, RssAnon, RssFile, ... from /proc/self/status in KiB; empty where there is no /proc. */
    static Map<String, Long> memoryKiB() {
        Map<String, Long> values = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] parts = line.split(":\\s+");
                if (parts.length == 2 && parts[1].endsWith(" kB")) {
                    values.put(parts[0], Long.parseLong(parts[1].substring(0, parts[1].length() - 3).trim()));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Map.of();
        }
        return values;
    }
}
