package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The zip directory reader on archives laid out as torch and other writers lay them out, and on
 * archives with one field made wrong, each refused with the message for that field. Offsets in
 * the patches follow the layout {@link ZipBuilder} writes: local headers and data, the central
 * directory, then (unless plain) the 56-byte ZIP64 end record and the 20-byte locator, then the
 * 22-byte end record.
 */
class StoredZipTest {
    private static final int ZIP64_END_RECORD = 0x06064b50;

    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("a.zip");
    }

    private byte[] bytes(ZipBuilder zip) throws IOException {
        zip.write(file());
        return Files.readAllBytes(file());
    }

    private StoredZip read(byte[] bytes) throws CheckpointException {
        return StoredZip.read(file(), MemorySegment.ofArray(bytes));
    }

    private void refused(byte[] bytes, String fault) {
        assertThatThrownBy(() -> read(bytes)).isInstanceOf(CheckpointException.class).hasMessage(file() + ": " + fault)
                .extracting(e -> ((CheckpointException) e).file()).isEqualTo(file());
    }

    private static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ZipBuilder threeEntries() {
        return new ZipBuilder().add("archive/data.pkl", "pickle".getBytes(StandardCharsets.US_ASCII))
                .add("archive/data/0", new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
                .add("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }

    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of("torch.save's: ZIP64 end record", UnaryOperator.<ZipBuilder>identity()),
                Arguments.of("plain end record", (UnaryOperator<ZipBuilder>) ZipBuilder::plainEnd),
                Arguments.of("ZIP64 fields for every entry", (UnaryOperator<ZipBuilder>) ZipBuilder::zip64Always),
                Arguments.of("another extra field first", (UnaryOperator<ZipBuilder>) z -> z.otherExtra(0x5455, 5).zip64Always()),
                Arguments.of("entry comments", (UnaryOperator<ZipBuilder>) z -> z.entryComment("written by hand")),
                Arguments.of("a 64 KiB archive comment", (UnaryOperator<ZipBuilder>) z -> z.plainEnd()
                        .archiveComment(new byte[0xffff])),
                Arguments.of("all of these", (UnaryOperator<ZipBuilder>) z -> z.otherExtra(0xcafe, 0).zip64Always()
                        .entryComment("c").archiveComment(new byte[100])));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void readsEveryEntryInOrderWithItsBytes(String layout, UnaryOperator<ZipBuilder> options) throws IOException {
        StoredZip zip = read(bytes(options.apply(threeEntries())));
        assertThat(zip.entries()).containsOnlyKeys("archive/data.pkl", "archive/data/0", "archive/version");
        assertThat(zip.entries().keySet()).containsExactly("archive/data.pkl", "archive/data/0", "archive/version");
        assertThat(zip.data(zip.entries().get("archive/data.pkl")).toArray(ValueLayout.JAVA_BYTE))
                .isEqualTo("pickle".getBytes(StandardCharsets.US_ASCII));
        assertThat(zip.data(zip.entries().get("archive/data/0")).toArray(ValueLayout.JAVA_BYTE))
                .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(zip.data(zip.entries().get("archive/version")).toArray(ValueLayout.JAVA_BYTE))
                .isEqualTo("3\n".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void emptyArchivesHaveNoEntries() throws IOException {
        assertThat(read(bytes(new ZipBuilder())).entries()).as("ZIP64 end record at byte 0").isEmpty();
        byte[] plain = bytes(new ZipBuilder().plainEnd());
        assertThat(plain).hasSize(22);
        assertThat(read(plain).entries()).as("end record at byte 0").isEmpty();
        assertThat(read(bytes(new ZipBuilder().plainEnd().archiveComment(new byte[0xffff]))).entries())
                .as("followed by the longest comment").isEmpty();
    }

    @Test
    void anEntryWithoutNameOrBytesEndsExactlyWhereTheDirectoryBegins() throws IOException {
        StoredZip zip = read(bytes(new ZipBuilder().add("", new byte[0])));
        assertThat(zip.entries()).containsExactly(Map.entry("", new StoredZip.Entry("", 30, 0)));
    }

    @Test
    void theZip64LocatorMustPointToARecordBeforeIt() throws IOException {
        // A locator at byte 0 has no room before it for a record.
        byte[] atStart = new byte[20 + 22];
        le(atStart).putInt(0x07064b50).putInt(0).putLong(0).putInt(1).putInt(0x06054b50);
        refused(atStart, "the ZIP64 locator at byte 0 points to 0, where there is no ZIP64 end record");

        // An empty archive: record at 0, locator at 56, end record at 76, comment at 98. A record
        // signature in the comment does not count: the record lies before its locator.
        byte[] comment = new byte[60];
        le(comment).putInt(ZIP64_END_RECORD);
        byte[] pointsAfter = bytes(new ZipBuilder().archiveComment(comment));
        le(pointsAfter).putLong(56 + 8, 98);
        refused(pointsAfter, "the ZIP64 locator at byte 56 points to 98, where there is no ZIP64 end record");
    }

    @Test
    void theDirectoryMustHoldItsEntriesBeforeTheEndRecord() throws IOException {
        byte[] one = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        int record = one.length - 22 - 20 - 56;
        int cdStart = 30 + 9 + 3;
        assertThat(record - cdStart).as("one central header").isEqualTo(46 + 9);

        byte[] counted = one.clone();
        le(counted).putLong(record + 32, 2);
        refused(counted, "the end record counts 2 entries, the central directory has room for 1");

        byte[] longer = one.clone();
        le(longer).putLong(record + 40, 46 + 9 + 1);
        refused(longer, "the central directory [" + cdStart + ", +56) does not lie before the end record at byte " + record);

        byte[] plain = bytes(new ZipBuilder().plainEnd().add("archive/x", new byte[3]));
        le(plain).putShort(plain.length - 22 + 10, (short) 0xffff);
        refused(plain, "the end record asks for ZIP64 values but there is no ZIP64 locator");
    }

    @Test
    void aDirectoryCutInsideAHeaderIsRefused() throws IOException {
        String a = "a".repeat(50);
        String b = "b".repeat(50);
        byte[] two = bytes(new ZipBuilder().add(a, new byte[0]).add(b, new byte[0]));
        int record = two.length - 22 - 20 - 56;
        int cdStart = 2 * (30 + 50);
        // Room for two headers by count (136 / 46), but the second is cut 40 bytes in.
        le(two).putLong(record + 40, 96 + 40);
        refused(two, "no central directory header at byte " + (cdStart + 96));
    }

    @Test
    void zip64FieldsMustHoldEveryValueTheyStandFor() throws IOException {
        byte[] good = bytes(new ZipBuilder().zip64Always().add("archive/x", new byte[3]));
        int field = 30 + 9 + 3 + 46 + 9; // the central header's ZIP64 field: id, length, size, size, offset
        assertThat(le(good).getShort(field)).isEqualTo((short) 1);
        assertThat(read(good).entries().get("archive/x")).isEqualTo(new StoredZip.Entry("archive/x", 39, 3));

        byte[] noOffset = good.clone();
        le(noOffset).putShort(field + 2, (short) 16);
        refused(noOffset, "entry 'archive/x' needs a ZIP64 extra field that it does not have");

        byte[] pastTheExtra = good.clone();
        le(pastTheExtra).putShort(field + 2, (short) 28);
        refused(pastTheExtra, "entry 'archive/x' needs a ZIP64 extra field that it does not have");

        byte[] huge = good.clone();
        le(huge).putLong(field + 4, -1).putLong(field + 12, -1);
        refused(huge, "entry 'archive/x' has a ZIP64 value beyond 2^63");
    }

    @Test
    void anEntryMustEndBeforeTheDirectory() throws IOException {
        byte[] one = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        int central = 30 + 9 + 3;
        le(one).putInt(central + 20, 4).putInt(central + 24, 4);
        refused(one, "entry 'archive/x' (4 bytes at byte 39) runs into the central directory at byte 42: the file is damaged");
    }

    @Test
    void sizesMustAgreeAndEntriesMustBeStoredAndClear() throws IOException {
        int central = 30 + 9 + 3;
        byte[] sizes = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        le(sizes).putInt(central + 20, 2);
        refused(sizes, "stored entry 'archive/x' has 2 bytes but a size of 3");

        byte[] encrypted = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        le(encrypted).putShort(central + 8, (short) 1);
        refused(encrypted, "entry 'archive/x' is encrypted");

        byte[] localOnly = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        le(localOnly).putShort(8, (short) 93);
        refused(localOnly, "entry 'archive/x' is compressed (zstd); torch.save writes stored entries: re-save the checkpoint");

        byte[] renamed = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        renamed[30 + 8] = 'y';
        refused(renamed, "entry 'archive/x': its local header at byte 0 names another entry");

        // A local header offset must leave room for a local header before the directory, even where
        // the directory's own bytes (here a CRC, which is not checked) spell a local header's signature.
        byte[] intoTheDirectory = bytes(new ZipBuilder().add("archive/x", new byte[3]));
        le(intoTheDirectory).putInt(central + 16, 0x04034b50).putInt(central + 42, central + 16);
        refused(intoTheDirectory, "entry 'archive/x': no local header at byte " + (central + 16));

        byte[] twice = bytes(new ZipBuilder().add("archive/x", new byte[1]).add("archive/x", new byte[2]));
        refused(twice, "two entries are named 'archive/x'");
    }
}
