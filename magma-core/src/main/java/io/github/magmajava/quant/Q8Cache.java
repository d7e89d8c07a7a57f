package io.github.magmajava.quant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.io.AtomicFiles;
import io.github.magmajava.io.WriteLock;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.LanguageModelWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The int8 weights of a checkpoint, made on first use and kept as one safetensors file per source
 * checkpoint in the cache directory ({@link io.github.magmajava.io.CacheDirectory}); later runs
 * map it. The file holds {@code <weight>.q8} (I8 [out, in]) and {@code <weight>.scale} (F16
 * [out, blocks]) for every quantized weight, and in its metadata the key of the source it was
 * made from: path, size, modification time and a SHA-256 of its first and last MiB, with the
 * format version. A cache whose key differs, that lacks a requested weight, or that does not
 * parse is rebuilt. It is written under a temporary name and renamed when complete, so a
 * crash never leaves a half-written cache in place. One writer at a time, across threads and
 * processes ({@link WriteLock}): the next one waits and then uses the file just made, and
 * removes the temporary files of writers that died.
 */
public final class Q8Cache {
    static final String VALUES_SUFFIX = ".q8";
    static final String SCALES_SUFFIX = ".scale";
    /** Bumped whenever the layout or the quantization changes: older caches are then rebuilt. */
    static final String VERSION = "1";
    private static final int FINGERPRINT_BYTES = 1 << 20;
    /** Int8 bytes quantized and written per task. */
    private static final int CHUNK_BYTES = 1 << 20;
    /** The temporary files of every q8 cache ({@link #temporaryFile}); group 1 is the cache's name. */
    private static final Pattern TEMPORARY = Pattern.compile("\\.(q8-.*\\.safetensors)\\.[0-9]+\\.tmp");
    private static final System.Logger LOG = System.getLogger(Q8Cache.class.getName());

    /** Usable bytes in a directory: the file store's, or a smaller disk in tests. */
    @FunctionalInterface
    interface FreeSpace {
        long usable(Path dir) throws IOException;
    }

    static final FreeSpace DISK = dir -> Files.getFileStore(dir).getUsableSpace();

    private Q8Cache() {
    }

    /**
     * The int8 form of {@code weights} (tensors of the checkpoint {@code source}), from the cache
     * in {@code cacheDir}, written first when absent, stale or unreadable.
     *
     * @throws IllegalArgumentException when a weight is not a floating-point matrix or holds
     *                                  values int8 cannot represent (NaN, infinity)
     * @throws IOException              when the source cannot be read or the cache cannot be written
     */
    public static Q8Weights open(Path source, Collection<Tensor> weights, Path cacheDir) throws IOException {
        return open(source, weights, cacheDir, DISK);
    }

    static Q8Weights open(Path source, Collection<Tensor> weights, Path cacheDir, FreeSpace space) throws IOException {
        Path file = file(source, cacheDir);
        Map<String, String> key = key(source);
        Q8Weights cached = openIfCurrent(file, key, weights);
        if (cached != null) {
            return cached;
        }
        Files.createDirectories(cacheDir);
        try (WriteLock owned = WriteLock.acquire(file, "the q8 cache")) {
            // Made by the writer this one waited for.
            cached = openIfCurrent(file, key, weights);
            if (cached != null) {
                return cached;
            }
            write(weights, key, file, space);
            Q8Weights made = openIfCurrent(file, key, weights);
            if (made == null) {
                throw new CheckpointException(file, "the q8 cache just written for " + source + " does not read back");
            }
            return made;
        }
    }

    /** Where the cache of {@code source} lives: one file per source path. */
    public static Path file(Path source, Path cacheDir) throws IOException {
        String real = source.toRealPath().toString();
        String hash = HexFormat.of().formatHex(sha256().digest(real.getBytes(StandardCharsets.UTF_8)), 0, 6);
        String stem = source.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_");
        if (stem.length() > 80) {
            stem = stem.substring(0, 80);
        }
        return cacheDir.resolve("q8-" + stem + "-" + hash + ".safetensors");
    }

    /** True when the cache of {@code source} exists and was made from the source as it is now. */
    public static boolean isCurrent(Path source, Path cacheDir) throws IOException {
        Path file = file(source, cacheDir);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata().equals(key(source));
        } catch (CheckpointException e) {
            return false;
        }
    }

    /** Every Linear weight of GPT-J that decoding reads: attention, MLP, adapters and the LM head. */
    public static List<Tensor> linearWeights(LanguageModelWeights lm) {
        List<Tensor> out = new ArrayList<>();
        for (BlockWeights b : lm.blocks()) {
            out.addAll(List.of(b.qProj(), b.kProj(), b.vProj(), b.outProj(), b.fcWeight(), b.projWeight(),
                    b.adapterDownWeight(), b.adapterUpWeight()));
        }
        out.add(lm.lmHeadWeight());
        return out;
    }

    /** The metadata a cache made from {@code source} as it is now carries. */
    static Map<String, String> key(Path source) throws IOException {
        Path real = source.toRealPath();
        long size = Files.size(real);
        MessageDigest digest = sha256();
        try (FileChannel in = FileChannel.open(real, StandardOpenOption.READ)) {
            digest.update(read(in, 0, (int) Math.min(size, FINGERPRINT_BYTES)));
            long tail = Math.max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES);
            digest.update(read(in, tail, (int) Math.max(0, size - tail)));
        }
        Map<String, String> key = new LinkedHashMap<>();
        key.put("format", "magma-java q8");
        key.put("version", VERSION);
        key.put("block", Integer.toString(Q8Quantizer.BLOCK));
        key.put("source", real.toString());
        key.put("source.bytes", Long.toString(size));
        key.put("source.modified", Files.getLastModifiedTime(real).toString());
        key.put("source.sha256", HexFormat.of().formatHex(digest.digest()));
        return key;
    }

    private static ByteBuffer read(FileChannel in, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (in.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }

    /** The cache when it matches {@code key} and covers {@code weights}; null when absent, stale or corrupt. */
    private static Q8Weights openIfCurrent(Path file, Map<String, String> key, Collection<Tensor> weights) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        SafetensorsFile f;
        try {
            f = SafetensorsFile.open(file);
        } catch (CheckpointException unreadable) {
            return null;
        }
        try {
            if (f.metadata().equals(key)) {
                Q8Weights q = Q8Weights.of(f);
                boolean covers = weights.stream().allMatch(w -> {
                    Q8Tensor t = q.tensors().get(w.name());
                    return t != null && t.fits(w.shape());
                });
                if (covers) {
                    return q;
                }
            }
        } catch (CheckpointException corrupt) {
            // mis-paired or mis-shaped tensors: rebuilt like a stale cache
        }
        f.close();
        return null;
    }

    private record Entry(Tensor weight, int rows, int cols, long scalesAt, long valuesAt) {
    }

    /**
     * Quantizes {@code weights} into a safetensors file at {@code target}, chunk by chunk (no more
     * than a few MiB per thread on the heap), under a temporary name renamed when complete. The
     * caller owns {@code target}'s {@link WriteLock}.
     */
    static void write(Collection<Tensor> weights, Map<String, String> metadata, Path target, FreeSpace space) throws IOException {
        List<Entry> entries = layout(weights);
        byte[] header = header(entries, metadata);
        long dataStart = 8L + header.length;
        long total = dataStart + (entries.isEmpty() ? 0 : entries.getLast().valuesAt()
                + (long) entries.getLast().rows() * entries.getLast().cols());
        Path dir = target.toAbsolutePath().getParent();
        // Measured after the removal, so the space of dead writers' files counts as free.
        List<String> holding = removeAbandoned(dir, target);
        long free = space.usable(dir);
        if (free < total) {
            throw new IOException("the q8 cache " + target + " needs " + total + " bytes, " + dir + " has " + free + " free"
                    + (holding.isEmpty() ? "" : "; temporary files still hold space: " + String.join(", ", holding))
                    + "; free some space or point MAGMA_CACHE_DIR elsewhere");
        }
        Path temp = temporaryFile(target);
        // Ctrl-C during the first load: the JVM's exit hook removes the partial file.
        temp.toFile().deleteOnExit();
        AtomicFiles.write(temp, target, t -> {
            try (FileChannel out = FileChannel.open(t, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, length, 0);
                writeFully(out, ByteBuffer.wrap(header), 8);
                quantizeInto(out, entries, dataStart);
                out.force(true);
            }
        }, StandardCopyOption.REPLACE_EXISTING);
    }

    /** All scales first, then all int8 values: every tensor starts aligned to its element size. */
    private static List<Entry> layout(Collection<Tensor> weights) {
        Set<String> names = new HashSet<>();
        long scalesBytes = 0;
        for (Tensor w : weights) {
            Q8Quantizer.checkWeight(w);
            if (!names.add(w.name())) {
                throw new IllegalArgumentException("weight " + w.name() + " given twice");
            }
            scalesBytes += w.dim(0) * Q8Quantizer.blocks((int) w.dim(1)) * 2;
        }
        List<Entry> entries = new ArrayList<>();
        long scalesAt = 0;
        long valuesAt = scalesBytes;
        for (Tensor w : weights) {
            int rows = (int) w.dim(0);
            int cols = (int) w.dim(1);
            entries.add(new Entry(w, rows, cols, scalesAt, valuesAt));
            scalesAt += (long) rows * Q8Quantizer.blocks(cols) * 2;
            valuesAt += (long) rows * cols;
        }
        return entries;
    }

    private static byte[] header(List<Entry> entries, Map<String, String> metadata) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode meta = root.putObject("__metadata__");
        metadata.forEach(meta::put);
        for (Entry e : entries) {
            long scaleBytes = (long) e.rows() * Q8Quantizer.blocks(e.cols()) * 2;
            describe(root.putObject(e.weight().name() + SCALES_SUFFIX), DType.FLOAT16, e.rows(), Q8Quantizer.blocks(e.cols()),
                    e.scalesAt(), scaleBytes);
            describe(root.putObject(e.weight().name() + VALUES_SUFFIX), DType.INT8, e.rows(), e.cols(),
                    e.valuesAt(), (long) e.rows() * e.cols());
        }
        byte[] text = json.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(text, (text.length + 7) / 8 * 8);
        Arrays.fill(padded, text.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void describe(ObjectNode node, DType dtype, long rows, long cols, long at, long bytes) {
        node.put("dtype", dtype.safetensorsName());
        node.putArray("shape").add(rows).add(cols);
        node.putArray("data_offsets").add(at).add(at + bytes);
    }

    /** Row chunks of every weight, quantized in parallel and written at their offsets. */
    private static void quantizeInto(FileChannel out, List<Entry> entries, long dataStart) throws IOException {
        record Chunk(Entry entry, int r0, int r1) {
        }
        List<Chunk> chunks = new ArrayList<>();
        for (Entry e : entries) {
            int step = Math.max(1, CHUNK_BYTES / Math.max(1, e.cols()));
            for (int r = 0; r < e.rows(); r += step) {
                chunks.add(new Chunk(e, r, Math.min(e.rows(), r + step)));
            }
        }
        try {
            chunks.parallelStream().forEach(c -> {
                Entry e = c.entry();
                int blocks = Q8Quantizer.blocks(e.cols());
                byte[] values = new byte[(c.r1() - c.r0()) * e.cols()];
                byte[] scales = new byte[(c.r1() - c.r0()) * blocks * 2];
                Q8Quantizer.quantizeRows(e.weight(), c.r0(), c.r1(), MemorySegment.ofArray(values), MemorySegment.ofArray(scales));
                try {
                    writeFully(out, ByteBuffer.wrap(scales), dataStart + e.scalesAt() + (long) c.r0() * blocks * 2);
                    writeFully(out, ByteBuffer.wrap(values), dataStart + e.valuesAt() + (long) c.r0() * e.cols());
                } catch (IOException io) {
                    throw new UncheckedIOException(io);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            position += out.write(buffer, position);
        }
    }

    /** A new empty file in {@code target}'s directory, named {@code .<target name>.<digits>.tmp}. */
    static Path temporaryFile(Path target) throws IOException {
        return Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName() + ".", ".tmp");
    }

    /**
     * Deletes the temporary files in {@code dir} whose writer died (killed mid-write): those of
     * {@code target}, whose lock the caller owns, and those of any other cache whose lock no one
     * holds. A writer holds its cache's lock as long as its temporary file exists, so this is
     * decided by the lock, not by age. Returns the files left, with sizes and why, for an error.
     */
    private static List<String> removeAbandoned(Path dir, Path target) throws IOException {
        Map<Path, List<Path>> byCache = new TreeMap<>();
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, ".q8-*.tmp")) {
            for (Path t : temps) {
                Matcher m = TEMPORARY.matcher(t.getFileName().toString());
                if (m.matches()) {
                    byCache.computeIfAbsent(dir.resolve(m.group(1)), c -> new ArrayList<>()).add(t);
                }
            }
        }
        List<String> left = new ArrayList<>();
        for (Map.Entry<Path, List<Path>> e : byCache.entrySet()) {
            if (e.getKey().getFileName().equals(target.getFileName())) {
                e.getValue().forEach(t -> remove(t, left));
                continue;
            }
            WriteLock owned;
            try {
                owned = WriteLock.tryAcquire(e.getKey(), "the q8 cache");
            } catch (IOException unlockable) {
                // Another user's lock file, say: not this writer's business beyond naming it.
                e.getValue().forEach(t -> left.add(t + " (" + size(t) + " bytes, its lock cannot be taken)"));
                continue;
            }
            if (owned == null) {
                e.getValue().forEach(t -> left.add(t + " (" + size(t) + " bytes, its writer is still running)"));
                continue;
            }
            try (owned) {
                e.getValue().forEach(t -> remove(t, left));
            }
        }
        return left;
    }

    private static void remove(Path temp, List<String> left) {
        long size = size(temp);
        try {
            if (Files.deleteIfExists(temp)) {
                LOG.log(System.Logger.Level.INFO, "removed " + temp + " (" + size + " bytes), left by a q8 cache writer that died");
            }
        } catch (IOException e) {
            left.add(temp + " (" + size + " bytes, cannot be removed: " + e.getClass().getSimpleName() + ")");
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException gone) {
            return 0;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
