package io.github.magmajava.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The directory of a ZIP archive whose entries are stored uncompressed, as torch.save writes
 * them, read straight from the mapped file: the end-of-central-directory record (and its ZIP64
 * locator and record), the central directory (with ZIP64 extra fields) and each local header
 * (whose name and extra lengths may differ from the central ones). Every offset and length is
 * checked against the file before use. CRCs are not verified: that would read every byte of a
 * 13 GB file up front, and entries stay lazily mapped instead.
 */
final class StoredZip {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int LOCAL_HEADER = 0x04034b50;
    private static final int CENTRAL_HEADER = 0x02014b50;
    private static final int END_RECORD = 0x06054b50;
    private static final int ZIP64_END_RECORD = 0x06064b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int END_RECORD_SIZE = 22;
    private static final int CENTRAL_HEADER_SIZE = 46;
    private static final int LOCAL_HEADER_SIZE = 30;
    private static final int ZIP64_END_RECORD_SIZE = 56;
    private static final int ZIP64_LOCATOR_SIZE = 20;
    private static final long NO_32 = 0xffffffffL;
    private static final int NO_16 = 0xffff;

    /** A stored entry: its bytes are {@code [offset, offset + size)} of the file. */
    record Entry(String name, long offset, long size) {
    }

    private final Path file;
    private final MemorySegment bytes;
    private final long size;
    private final Map<String, Entry> entries;

    private StoredZip(Path file, MemorySegment bytes) throws CheckpointException {
        this.file = file;
        this.bytes = bytes;
        this.size = bytes.byteSize();
        this.entries = Collections.unmodifiableMap(readDirectory());
    }

    /** Reads the directory of the archive mapped as {@code bytes}. */
    static StoredZip read(Path file, MemorySegment bytes) throws CheckpointException {
        return new StoredZip(file, bytes);
    }

    /** Every entry by name, in central directory order. */
    Map<String, Entry> entries() {
        return entries;
    }

    /** The bytes of an entry, a slice of the mapped file (no copy). */
    MemorySegment data(Entry entry) {
        return bytes.asSlice(entry.offset(), entry.size());
    }

    private Map<String, Entry> readDirectory() throws CheckpointException {
        long end = findEndRecord();
        long count = u16(end + 10);
        long cdSize = u32(end + 12);
        long cdOffset = u32(end + 16);
        long cdLimit = end;
        boolean spanned = u16(end + 4) != 0 || u16(end + 6) != 0;
        if (end >= ZIP64_LOCATOR_SIZE && u32(end - ZIP64_LOCATOR_SIZE) == ZIP64_LOCATOR) {
            long locator = end - ZIP64_LOCATOR_SIZE;
            long record = u64(locator + 8);
            if (record < 0 || record > locator - ZIP64_END_RECORD_SIZE || u32(record) != ZIP64_END_RECORD) {
                throw fail("the ZIP64 locator at byte " + locator + " points to " + Long.toUnsignedString(record)
                        + ", where there is no ZIP64 end record");
            }
            spanned = u32(record + 16) != 0 || u32(record + 20) != 0;
            count = u64(record + 32);
            cdSize = u64(record + 40);
            cdOffset = u64(record + 48);
            cdLimit = record;
        } else if (count == NO_16 || cdSize == NO_32 || cdOffset == NO_32) {
            throw fail("the end record asks for ZIP64 values but there is no ZIP64 locator");
        }
        if (spanned) {
            throw fail("a multi-part (spanned) zip archive");
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
            throw fail("the central directory [" + Long.toUnsignedString(cdOffset) + ", +" + Long.toUnsignedString(cdSize)
                    + ") does not lie before the end record at byte " + cdLimit);
        }
        if (count < 0 || count > cdSize / CENTRAL_HEADER_SIZE) {
            throw fail("the end record counts " + Long.toUnsignedString(count) + " entries, the central directory has room for "
                    + cdSize / CENTRAL_HEADER_SIZE);
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        long at = cdOffset;
        long cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            CentralHeader header = centralHeader(at, cdEnd, cdOffset);
            if (out.putIfAbsent(header.entry.name(), header.entry) != null) {
                throw fail("two entries are named '" + header.entry.name() + "'");
            }
            at = header.next;
        }
        return out;
    }

    /** The end record: scanned backwards over the at most 64 KiB comment it may be followed by. */
    private long findEndRecord() throws CheckpointException {
        long last = size - END_RECORD_SIZE;
        for (long at = last; at >= 0 && at >= last - NO_16; at--) {
            if (u32(at) == END_RECORD && at + END_RECORD_SIZE + u16(at + 20) == size) {
                return at;
            }
        }
        if (size > 0 && Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, 0)) == 0x80) {
            throw fail("a bare pickle: a legacy torch.save file (torch < 1.6, or _use_new_zipfile_serialization=False);"
                    + " re-save it with a current torch: torch.save(torch.load(f), f)");
        }
        throw fail("not a zip archive (no end of central directory record; a torch.save file is a zip, is it truncated?)");
    }

    private record CentralHeader(Entry entry, long next) {
    }

    private CentralHeader centralHeader(long at, long cdEnd, long cdStart) throws CheckpointException {
        if (at > cdEnd - CENTRAL_HEADER_SIZE || u32(at) != CENTRAL_HEADER) {
            throw fail("no central directory header at byte " + at);
        }
        int flags = u16(at + 8);
        int method = u16(at + 10);
        long compressed = u32(at + 20);
        long uncompressed = u32(at + 24);
        int nameLength = u16(at + 28);
        int extraLength = u16(at + 30);
        int commentLength = u16(at + 32);
        long local = u32(at + 42);
        long next = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
        if (next > cdEnd) {
            throw fail("the central directory header at byte " + at + " runs past the directory");
        }
        String name = new String(bytes.asSlice(at + CENTRAL_HEADER_SIZE, nameLength).toArray(ValueLayout.JAVA_BYTE),
                StandardCharsets.UTF_8);
        if ((flags & 1) != 0) {
            throw fail("entry '" + name + "' is encrypted");
        }
        if (method != 0) {
            throw fail("entry '" + name + "' is compressed (" + methodName(method)
                    + "); torch.save writes stored entries: re-save the checkpoint");
        }
        long extra = at + CENTRAL_HEADER_SIZE + nameLength;
        int zip64Index = 0;
        if (uncompressed == NO_32) {
            uncompressed = zip64Field(name, extra, extraLength, zip64Index++);
        }
        if (compressed == NO_32) {
            compressed = zip64Field(name, extra, extraLength, zip64Index++);
        }
        if (local == NO_32) {
            local = zip64Field(name, extra, extraLength, zip64Index);
        }
        if (compressed != uncompressed) {
            throw fail("stored entry '" + name + "' has " + Long.toUnsignedString(compressed) + " bytes but a size of "
                    + Long.toUnsignedString(uncompressed));
        }
        return new CentralHeader(new Entry(name, dataOffset(name, at + CENTRAL_HEADER_SIZE, nameLength, local,
                uncompressed, cdStart), uncompressed), next);
    }

    /** The {@code index}-th 8-byte value of the entry's ZIP64 extra field (id 1). */
    private long zip64Field(String name, long extra, int extraLength, int index) throws CheckpointException {
        long at = extra;
        long end = extra + extraLength;
        while (at <= end - 4) {
            int id = u16(at);
            int length = u16(at + 2);
            if (length > end - at - 4) {
                break;
            }
            if (id == 1) {
                if (8L * (index + 1) > length) {
                    break;
                }
                long value = u64(at + 4 + 8L * index);
                if (value < 0) {
                    throw fail("entry '" + name + "' has a ZIP64 value beyond 2^63");
                }
                return value;
            }
            at += 4 + length;
        }
        throw fail("entry '" + name + "' needs a ZIP64 extra field that it does not have");
    }

    /** Where an entry's bytes begin: after its local header, whose name must match the central one. */
    private long dataOffset(String name, long centralName, int nameLength, long local, long length, long cdStart)
            throws CheckpointException {
        if (local < 0 || local > cdStart - LOCAL_HEADER_SIZE || u32(local) != LOCAL_HEADER) {
            throw fail("entry '" + name + "': no local header at byte " + Long.toUnsignedString(local));
        }
        int localMethod = u16(local + 8);
        int localNameLength = u16(local + 26);
        int localExtraLength = u16(local + 28);
        long start = local + LOCAL_HEADER_SIZE + localNameLength + localExtraLength;
        if (localNameLength != nameLength || start > cdStart
                || bytes.asSlice(local + LOCAL_HEADER_SIZE, nameLength).mismatch(bytes.asSlice(centralName, nameLength)) != -1) {
            throw fail("entry '" + name + "': its local header at byte " + local + " names another entry");
        }
        if (localMethod != 0) {
            throw fail("entry '" + name + "' is compressed (" + methodName(localMethod)
                    + "); torch.save writes stored entries: re-save the checkpoint");
        }
        if (length > cdStart - start) {
            throw fail("entry '" + name + "' (" + length + " bytes at byte " + start
                    + ") runs into the central directory at byte " + cdStart + ": the file is damaged");
        }
        return start;
    }

    private static String methodName(int method) {
        return switch (method) {
            case 8 -> "deflate";
            case 9 -> "deflate64";
            case 12 -> "bzip2";
            case 14 -> "lzma";
            case 93 -> "zstd";
            case 95 -> "xz";
            default -> "method " + method;
        };
    }

    private int u16(long at) throws CheckpointException {
        check(at, 2);
        return Short.toUnsignedInt(bytes.get(U16, at));
    }

    private long u32(long at) throws CheckpointException {
        check(at, 4);
        return Integer.toUnsignedLong(bytes.get(U32, at));
    }

    /** An 8-byte value; values of 2^63 and more come back negative, and callers refuse them. */
    private long u64(long at) throws CheckpointException {
        check(at, 8);
        return bytes.get(U64, at);
    }

    private void check(long at, int n) throws CheckpointException {
        if (at < 0 || at > size - n) {
            throw fail("truncated: a zip structure at byte " + at + " runs past the end of the file (" + size + " bytes)");
        }
    }

    private CheckpointException fail(String fault) {
        return new CheckpointException(file, fault);
    }
}
