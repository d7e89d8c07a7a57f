package io.github.magmajava.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Writes stored zips the way torch does (ZIP64 end records always, ZIP64 extra fields where a
 * value needs them). An entry may be sparse: a size with a few patched bytes, the rest left as a
 * hole in the file, so multi-GB archives cost no disk. Options write what other zip writers do:
 * a plain end record, ZIP64 fields for every entry, other extra fields before them, comments.
 */
final class ZipBuilder {
    private record Entry(String name, byte[] data, long size, Map<Long, byte[]> patches) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private int method;
    private boolean plainEnd;
    private boolean zip64Always;
    private byte[] otherExtra = new byte[0];
    private byte[] entryComment = new byte[0];
    private byte[] archiveComment = new byte[0];

    ZipBuilder add(String name, byte[] data) {
        entries.add(new Entry(name, data, data.length, Map.of()));
        return this;
    }

    ZipBuilder addSparse(String name, long size, Map<Long, byte[]> patches) {
        entries.add(new Entry(name, null, size, patches));
        return this;
    }

    /** The compression method written in the headers (the bytes stay stored). */
    ZipBuilder method(int method) {
        this.method = method;
        return this;
    }

    /** Only the classic end record, without the ZIP64 record and locator (as small zips from most tools). */
    ZipBuilder plainEnd() {
        this.plainEnd = true;
        return this;
    }

    /** Every entry's sizes and local header offset in a ZIP64 extra field, the 32-bit fields all 0xffffffff. */
    ZipBuilder zip64Always() {
        this.zip64Always = true;
        return this;
    }

    /** An extra field with id {@code id} and {@code length} zero bytes, before any ZIP64 field (local and central). */
    ZipBuilder otherExtra(int id, int length) {
        this.otherExtra = le(4 + length).putShort((short) id).putShort((short) length).array();
        return this;
    }

    /** The same file comment on every central header. */
    ZipBuilder entryComment(String comment) {
        this.entryComment = comment.getBytes(StandardCharsets.UTF_8);
        return this;
    }

    /** The archive's comment, after the end record. */
    ZipBuilder archiveComment(byte[] comment) {
        this.archiveComment = comment.clone();
        return this;
    }

    void write(Path file) throws IOException {
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long at = 0;
            List<long[]> central = new ArrayList<>();
            for (Entry e : entries) {
                byte[] name = e.name.getBytes(StandardCharsets.UTF_8);
                boolean big = e.size >= 0xffffffffL;
                ByteBuffer local = le(30 + name.length + otherExtra.length + (big ? 20 : 0));
                long crc = crc(e);
                local.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) method)
                        .putInt(0).putInt((int) crc).putInt(big ? -1 : (int) e.size).putInt(big ? -1 : (int) e.size)
                        .putShort((short) name.length).putShort((short) (otherExtra.length + (big ? 20 : 0))).put(name)
                        .put(otherExtra);
                if (big) {
                    local.putShort((short) 1).putShort((short) 16).putLong(e.size).putLong(e.size);
                }
                at += put(out, at, local);
                long dataStart = at;
                if (e.data != null) {
                    at += put(out, at, ByteBuffer.wrap(e.data));
                } else {
                    for (var p : e.patches.entrySet()) {
                        put(out, dataStart + p.getKey(), ByteBuffer.wrap(p.getValue()));
                    }
                    at += e.size;
                }
                central.add(new long[] {dataStart - local.capacity(), e.size, crc});
            }
            long cdStart = at;
            for (int i = 0; i < entries.size(); i++) {
                byte[] name = entries.get(i).name.getBytes(StandardCharsets.UTF_8);
                long offset = central.get(i)[0];
                long size = central.get(i)[1];
                boolean bigSize = zip64Always || size >= 0xffffffffL;
                boolean bigOffset = zip64Always || offset >= 0xffffffffL;
                int extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
                int extraLength = otherExtra.length + (extra > 0 ? 4 + extra : 0);
                ByteBuffer header = le(46 + name.length + extraLength + entryComment.length);
                header.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0)
                        .putShort((short) method).putInt(0).putInt((int) central.get(i)[2])
                        .putInt(bigSize ? -1 : (int) size).putInt(bigSize ? -1 : (int) size)
                        .putShort((short) name.length).putShort((short) extraLength)
                        .putShort((short) entryComment.length).putShort((short) 0).putShort((short) 0).putInt(0)
                        .putInt(bigOffset ? -1 : (int) offset).put(name).put(otherExtra);
                if (extra > 0) {
                    header.putShort((short) 1).putShort((short) extra);
                    if (bigSize) {
                        header.putLong(size).putLong(size);
                    }
                    if (bigOffset) {
                        header.putLong(offset);
                    }
                }
                header.put(entryComment);
                at += put(out, at, header);
            }
            long cdSize = at - cdStart;
            long record = at;
            ByteBuffer end = le((plainEnd ? 0 : 56 + 20) + 22 + archiveComment.length);
            if (!plainEnd) {
                end.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                        .putLong(entries.size()).putLong(entries.size()).putLong(cdSize).putLong(cdStart);
                end.putInt(0x07064b50).putInt(0).putLong(record).putInt(1);
            }
            end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
                    .putShort((short) entries.size()).putShort((short) entries.size())
                    .putInt(cdSize >= 0xffffffffL ? -1 : (int) cdSize).putInt(cdStart >= 0xffffffffL ? -1 : (int) cdStart)
                    .putShort((short) archiveComment.length).put(archiveComment);
            put(out, at, end);
        }
    }

    private static long crc(Entry e) {
        if (e.data == null) {
            return 0;
        }
        CRC32 crc = new CRC32();
        crc.update(e.data);
        return crc.getValue();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int put(FileChannel out, long at, ByteBuffer buffer) throws IOException {
        buffer.rewind();
        int n = buffer.remaining();
        long position = at;
        while (buffer.hasRemaining()) {
            position += out.write(buffer, position);
        }
        return n;
    }
}
