package io.github.magmajava.ipu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.quant.WeightFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * The whole layout of a model on its devices, as data: every phase's shards per device, its
 * activation and KV cache bytes, its all-reduces. {@link Planner} makes it from a config alone;
 * {@link IpuBackend} executes it on the host; a device runtime (Poplar/PopART) could execute the
 * same plan (docs/ipu.md, "The runtime seam").
 *
 * @param config            the model config's name
 * @param maxRows           the most positions one phase runs: image tokens + the config's sequence length
 * @param splits            how each sharded Linear weight is split, by checkpoint name
 * @param remoteMemoryBytes what stays in remote memory: the weights as staged from, the KV cache, the buffers between phases
 */
public record ExecutionPlan(String config, IpuOptions options, WeightFormat weights, SequenceMode sequenceMode, int maxRows,
        List<PhasePlan> phases, Map<String, Split> splits, long remoteMemoryBytes) {
    public ExecutionPlan {
        phases = List.copyOf(phases);
        splits = Map.copyOf(splits);
    }

    public int devices() {
        return options.devices();
    }

    public Optional<PhasePlan> phase(String name) {
        return phases.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** The most bytes a phase needs on {@code device}: what its memory must hold. */
    public long peakBytes(int device) {
        return phases.stream().mapToLong(p -> p.totalBytes(device)).max().orElse(0);
    }

    /** Weight bytes staged, all devices together, for each generated token (every phase but the image prefix). */
    public long streamedBytesPerToken() {
        return phases.stream().filter(PhasePlan::perToken).mapToLong(PhasePlan::stagedBytes).sum();
    }

    public int allReducesPerToken() {
        return phases.stream().filter(PhasePlan::perToken).mapToInt(PhasePlan::allReduces).sum();
    }

    public boolean fits() {
        return refusal().isEmpty();
    }

    /**
     * Why the plan does not fit, as one line naming the first phase and device short of memory,
     * with needed and available bytes; empty when it fits.
     */
    public Optional<String> refusal() {
        long available = options.device().memoryBytes();
        for (PhasePlan p : phases) {
            for (int d = 0; d < devices(); d++) {
                long needed = p.totalBytes(d);
                if (needed > available) {
                    return Optional.of("phase '" + p.name() + "' needs " + needed + " bytes (" + bytes(needed) + ") on device " + d
                            + ", the " + options.device().name() + " has " + available + " (" + bytes(available) + "; weights " + bytes(p.weightBytes(d))
                            + ", activations " + bytes(p.activationBytes(d)) + ", KV cache " + bytes(p.kvCacheBytes(d))
                            + "): " + advice(p));
                }
            }
        }
        return Optional.empty();
    }

    /** What would make {@code p} fit: the image prefix runs on one device, and q8 shrinks only Linear weights. */
    static String advice(PhasePlan p) {
        return switch (p.name()) {
            case "image prefix" -> "the image prefix runs on device 0 alone, give it a larger --device-memory";
            case "embedding" -> "use more devices or a larger --device-memory";
            default -> "use more devices, --weights q8 or a larger --device-memory";
        };
    }

    /** The {@code magma plan --json} document. */
    public String toJson() {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("config", config);
        root.put("devices", devices());
        root.put("device", options.device().name());
        if (options.device().unlimited()) {
            root.putNull("deviceMemoryBytes");
        } else {
            root.put("deviceMemoryBytes", options.device().memoryBytes());
        }
        root.put("weights", weights.cliName());
        root.put("sequenceMode", sequenceMode.cliName());
        root.put("fits", fits());
        refusal().ifPresent(r -> root.put("refusal", r));
        root.put("remoteMemoryBytes", remoteMemoryBytes);
        root.put("streamedBytesPerToken", streamedBytesPerToken());
        root.put("allReducesPerToken", allReducesPerToken());
        ArrayNode list = root.putArray("phases");
        for (PhasePlan p : phases) {
            ObjectNode n = list.addObject();
            n.put("name", p.name());
            n.put("weightBytesPerDevice", max(p::weightBytes));
            n.put("activationBytesPerDevice", max(p::activationBytes));
            n.put("kvCacheBytesPerDevice", max(p::kvCacheBytes));
            n.put("totalBytesPerDevice", max(p::totalBytes));
            n.put("allReduces", p.allReduces());
            ArrayNode byDevice = n.putArray("totalBytesByDevice");
            IntStream.range(0, devices()).forEach(d -> byDevice.add(p.totalBytes(d)));
        }
        try {
            return json.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The {@code magma plan} table: per phase the most any device needs, then the totals. */
    public String table() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%s on %d x %s (%s each), weights %s, sequence mode %s, up to %d positions%n",
                config, devices(), options.device().name(),
                options.device().unlimited() ? "unlimited" : bytes(options.device().memoryBytes()), weights.cliName(),
                sequenceMode.cliName(), maxRows));
        out.append(String.format(Locale.ROOT, "%-13s %12s %12s %12s %12s %11s%n", "phase", "weights", "activations",
                "KV cache", "total", "all-reduces"));
        for (PhasePlan p : phases) {
            out.append(String.format(Locale.ROOT, "%-13s %12s %12s %12s %12s %11d%n", p.name(), bytes(max(p::weightBytes)),
                    bytes(max(p::activationBytes)), bytes(max(p::kvCacheBytes)), bytes(max(p::totalBytes)), p.allReduces()));
        }
        out.append("(bytes per device: the most any one device needs in the phase)\n");
        out.append(String.format(Locale.ROOT, "remote memory: %s; streamed per token: %s; all-reduces per token: %d%n",
                bytes(remoteMemoryBytes), bytes(streamedBytesPerToken()), allReducesPerToken()));
        out.append(refusal().map(r -> "does not fit: " + r).orElse("fits")).append('\n');
        return out.toString();
    }

    private long max(java.util.function.IntToLongFunction perDevice) {
        return IntStream.range(0, devices()).mapToLong(perDevice).max().orElse(0);
    }

    /** {@code 123.4 MiB (129394278 bytes)} style, exact bytes kept for checking by hand. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
