package io.github.magmajava.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** Writes safetensors files; {@link SafetensorsFile} reads them. */
public final class Safetensors {
    /** Bytes written per call: mapped tensors go to the file straight from their mapping. */
    static final int CHUNK_BYTES = 16 << 20;

    private Safetensors() {
    }

    /**
     * Writes {@code tensors} and {@code metadata} as a safetensors file. Tensor bytes are streamed
     * from their segments (a mapped tensor is never copied onto the heap). Tensors are laid out by
     * element size, largest first (in the given order within a size), so every tensor is aligned
     * to its element size; the header is padded with spaces to a multiple of 8 bytes. The file is
     * written next to {@code file} under a temporary name and then atomically renamed: {@code file}
     * is either untouched or complete, never half-written.
     *
     * @throws IllegalArgumentException when two tensors share a name or one is named {@code __metadata__}
     * @throws IOException              when writing fails (the temporary file is removed)
     */
    public static void write(Path file, Collection<Tensor> tensors, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(file, "file");
        List<Tensor> ordered = new ArrayList<>(tensors);
        Set<String> names = new HashSet<>();
        for (Tensor t : ordered) {
            if (t.name().equals(SafetensorsFile.METADATA_KEY) || !names.add(t.name())) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' is "
                        + (names.contains(t.name()) ? "used twice" : "reserved") + " in a safetensors file");
            }
        }
        ordered.sort(Comparator.comparingInt((Tensor t) -> t.dtype().byteSize()).reversed());
        byte[] header = header(ordered, metadata);

        Path target = file.toAbsolutePath();
        Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
        // Ctrl-C during a long write (a 13 GB conversion): the JVM's exit hook removes the partial file.
        temp.toFile().deleteOnExit();
        AtomicFiles.write(temp, target, t -> {
            try (FileChannel out = FileChannel.open(t, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                ByteBuffer staging = null;
                for (Tensor tensor : ordered) {
                    staging = writeSegment(out, tensor.data(), staging);
                }
                out.force(true);
            }
        });
    }

    /** The JSON header, space-padded so that the data starts at a multiple of 8. */
    private static byte[] header(List<Tensor> ordered, Map<String, String> metadata) throws IOException {
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach((k, v) -> meta.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, "metadata value")));
        }
        long offset = 0;
        for (Tensor t : ordered) {
            ObjectNode entry = root.putObject(t.name());
            entry.put("dtype", t.dtype().safetensorsName());
            var shape = entry.putArray("shape");
            Arrays.stream(t.shape()).forEach(shape::add);
            long size = t.data().byteSize();
            entry.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] json = SafetensorsFile.JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Native (mapped or off-heap) segments are written in place; heap ones through a bounded staging buffer. */
    private static ByteBuffer writeSegment(FileChannel out, MemorySegment data, ByteBuffer staging) throws IOException {
        for (long at = 0; at < data.byteSize(); at += CHUNK_BYTES) {
            MemorySegment chunk = data.asSlice(at, Math.min(CHUNK_BYTES, data.byteSize() - at));
            if (data.isNative()) {
                writeFully(out, chunk.asByteBuffer());
            } else {
                if (staging == null) {
                    staging = ByteBuffer.allocateDirect(CHUNK_BYTES);
                }
                staging.clear().limit((int) chunk.byteSize());
                MemorySegment.ofBuffer(staging).copyFrom(chunk);
                writeFully(out, staging);
            }
        }
        return staging;
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
