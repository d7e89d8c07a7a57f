package io.github.magmajava.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A full-size stand-in for the real checkpoint: every tensor of a config in the official key
 * layout and real shapes, random fp16 values of realistic scale (weights uniform with std 0.02,
 * norms 1, running variances 1), as safetensors. For benchmarks and the full-size run on machines
 * without the 13 GB real file; made once, reused from the cache directory.
 */
public final class SyntheticCheckpoint {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK = 1 << 20;

    private SyntheticCheckpoint() {
    }

    /** The cached synthetic checkpoint for {@code config} under {@code cacheDir}, written first if absent. */
    public static Path ensure(MagmaConfig config, Path cacheDir, long seed) throws IOException {
        Path file = cacheDir.resolve("synthetic-" + config.name() + "-seed" + seed + ".safetensors");
        if (Files.isRegularFile(file)) {
            return file;
        }
        Files.createDirectories(cacheDir);
        Path tmp = Files.createTempFile(cacheDir, "synthetic-", ".partial");
        try {
            write(config, tmp, seed);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return file;
    }

    static void write(MagmaConfig config, Path file, long seed) throws IOException {
        Map<String, long[]> shapes = MagmaWeights.expectedShapes(config);
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt").put("magma-java", "synthetic " + config.name() + " seed " + seed);
        long offset = 0;
        for (var e : shapes.entrySet()) {
            long bytes = Tensor.numel(e.getValue()) * DType.FLOAT16.byteSize();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", DType.FLOAT16.safetensorsName());
            var shape = t.putArray("shape");
            for (long d : e.getValue()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8;
        long dataStart = 8 + padded;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING); Arena arena = Arena.ofShared()) {
            MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, dataStart + offset, arena);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, padded);
            MemorySegment.copy(MemorySegment.ofArray(headerBytes), 0, out, 8, headerBytes.length);
            out.asSlice(8 + headerBytes.length, padded - headerBytes.length).fill((byte) ' ');
            long at = dataStart;
            int index = 0;
            for (var e : shapes.entrySet()) {
                long n = Tensor.numel(e.getValue());
                fill(out.asSlice(at, n * 2), e.getKey(), e.getValue(), seed * 1_000_003L + index++);
                at += n * 2;
            }
            out.force();
        }
    }

    private static void fill(MemorySegment segment, String name, long[] shape, long seed) {
        long n = segment.byteSize() / 2;
        if (name.endsWith("running_var") || name.endsWith("ln_1.weight") || name.endsWith("ln_f.weight")
                || name.endsWith("ln.weight") || name.matches(".*\\.bn\\d\\.weight|.*downsample\\.1\\.weight")) {
            segment.elements(F16).forEach(s -> s.set(F16, 0, Float.floatToFloat16(1f)));
            return;
        }
        if (name.endsWith("running_mean") || (shape.length == 1 && !name.endsWith(".bias"))) {
            segment.fill((byte) 0);
            return;
        }
        // Weights: uniform with std 0.02 (GPT-J's init scale); biases ten times smaller.
        float amplitude = (float) ((shape.length == 1 ? 0.002 : 0.02) * Math.sqrt(3));
        long chunks = (n + CHUNK - 1) / CHUNK;
        IntStream.range(0, Math.toIntExact(chunks)).parallel().forEach(c -> {
            long state = mix(seed + c * 0x9E3779B97F4A7C15L);
            long start = (long) c * CHUNK;
            long end = Math.min(n, start + CHUNK);
            for (long i = start; i < end; i++) {
                state ^= state << 13;
                state ^= state >>> 7;
                state ^= state << 17;
                float u = (state >>> 40) * 0x1p-24f * 2 - 1;
                segment.setAtIndex(F16, i, Float.floatToFloat16(u * amplitude));
            }
        });
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return z == 0 ? 1 : z;
    }
}
