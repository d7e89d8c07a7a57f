package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import io.github.magmajava.io.Npy.NpyArray;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class NpyTest {
    private static final String MAGMA = "fixtures/magma/";
    private static final String SMALL = MAGMA + "npy/";

    @TempDir
    Path dir;

    @Test
    void roundTripKeepsShapeAndEveryBit() throws IOException {
        float[] special = {Float.NaN, Float.intBitsToFloat(0x7fc00123), -0.0f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MIN_VALUE, Float.MAX_VALUE, 1.5f, -2.25f, 3e-8f, 7, 8};
        long[][] shapes = {{3, 4}, {12}, {1, 3, 2, 2}, {3, 1, 4}};
        for (long[] shape : shapes) {
            Path file = dir.resolve("a" + Arrays.toString(shape) + ".npy");
            Npy.write(file, shape, special);
            NpyArray back = Npy.read(file);
            assertThat(back.shape()).containsExactly(shape);
            assertThat(bits(back.data())).containsExactly(bits(special));
        }
        Path scalar = dir.resolve("scalar.npy");
        Npy.write(scalar, new long[0], new float[] {4.5f});
        assertThat(Npy.read(scalar)).isEqualTo(new NpyArray(new long[0], new float[] {4.5f}));
        Path empty = dir.resolve("empty.npy");
        Npy.write(empty, new long[] {0, 4}, new float[0]);
        assertThat(Npy.read(empty).shape()).containsExactly(0, 4);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 5, 9, 17, 40})
    void dataStartsAt64ByteBoundaryAfterANewline(int rank) throws IOException {
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        if (rank > 0) {
            shape[0] = rank + 1;
        }
        Path file = dir.resolve("r" + rank + ".npy");
        Npy.write(file, shape, new float[(int) Tensor.numel(shape)]);
        byte[] bytes = Files.readAllBytes(file);
        int dataStart = bytes.length - 4 * (int) Tensor.numel(shape);
        assertThat(dataStart % 64).isZero();
        assertThat(bytes[dataStart - 1]).isEqualTo((byte) '\n');
        assertThat(bytes[6]).as("format major version").isEqualTo((byte) 1);
        assertThat(ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort()).isEqualTo((short) (dataStart - 10));
    }

    /** Rewriting numpy's own files gives the same bytes: the header layout is numpy's. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny_a/logits.npy", "tiny_a/greedy_logits.npy", "tiny_b/image.npy", "tiny_b/block0_q.npy",
        "tiny_b/block0_attention_cached_last.npy", "npy/scalar.npy", "npy/empty.npy", "npy/aligned_header.npy"})
    void writesExactlyWhatNumpyWrites(String fixture) throws Exception {
        Path original = resource(MAGMA + fixture);
        NpyArray array = Npy.read(original);
        Path copy = dir.resolve("copy.npy");
        Npy.write(copy, array.shape(), array.data());
        assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(original));
    }

    @Test
    void readsTheReferenceFixtures() throws IOException {
        NpyArray logits = Npy.readResource(MAGMA + "tiny_a/logits.npy");
        NpyArray greedy = Npy.readResource(MAGMA + "tiny_a/greedy_logits.npy");
        assertThat(logits.shape()).containsExactly(50400);
        assertThat(greedy.shape()).containsExactly(8, 50400);
        assertThat(Arrays.copyOf(greedy.data(), 50400)).as("greedy row 0 is the prompt's logits").containsExactly(logits.data());

        NpyArray attention = Npy.readResource(MAGMA + "tiny_b/block0_attention.npy");
        NpyArray cached = Npy.readResource(MAGMA + "tiny_b/block0_attention_cached_last.npy");
        assertThat(attention.shape()).containsExactly(14, 24);
        assertThat(cached.shape()).containsExactly(1, 24);
        float[] last = Arrays.copyOfRange(attention.data(), 13 * 24, 14 * 24);
        for (int i = 0; i < 24; i++) {
            assertThat(cached.get(i)).isCloseTo(last[i], offset(1e-5f));
        }
        assertThat(Npy.readResource(MAGMA + "tiny_a/image.npy").shape()).containsExactly(1, 3, 64, 64);
        assertThat(Npy.readResource(MAGMA + "tiny_a/block0_q.npy").shape()).containsExactly(4, 11, 8);
    }

    @Test
    void readsFloat16AndInt64Widened() throws IOException {
        NpyArray half = Npy.readResource(SMALL + "float16.npy");
        assertThat(half.shape()).containsExactly(2, 3);
        assertThat(bits(half.data())).containsExactly(bits(new float[] {0f, 0.5f, -1.5f, 65504f, 0x1p-24f, -0.0f}));
        NpyArray longs = Npy.readResource(SMALL + "int64.npy");
        assertThat(longs.shape()).containsExactly(2, 3);
        assertThat(longs.data()).containsExactly(-3, 0, 7, 1 << 20, 5, -1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"float32_v2.npy", "float32_v3.npy"})
    void readsFormatVersions2And3(String name) throws IOException {
        NpyArray a = Npy.readResource(SMALL + name);
        assertThat(a.shape()).containsExactly(2, 3);
        assertThat(a.data()).containsExactly(-0.5f, -0.25f, 0f, 0.25f, 0.5f, 0.75f);
    }

    @Test
    void streamAndPathReadTheSame() throws Exception {
        Path file = resource(SMALL + "float16.npy");
        try (InputStream in = Files.newInputStream(file)) {
            assertThat(Npy.read(in, "stream")).isEqualTo(Npy.read(file));
        }
    }

    @Test
    void missingResourceIsNamed() {
        assertThatThrownBy(() -> Npy.readResource("fixtures/magma/nope.npy"))
                .isInstanceOf(IOException.class).hasMessageContaining("fixtures/magma/nope.npy");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fortran.npy:Fortran", "bigendian.npy:'>f4'", "float64.npy:'<f8'"})
    void refusesWhatItCannotRead(String caseSpec) throws Exception {
        String name = caseSpec.substring(0, caseSpec.indexOf(':'));
        String fault = caseSpec.substring(caseSpec.indexOf(':') + 1);
        Path file = resource(SMALL + name);
        assertThatThrownBy(() -> Npy.read(file))
                .isInstanceOf(IOException.class).hasMessageContaining(file.toString()).hasMessageContaining(fault);
    }

    static Stream<Arguments> malformed() {
        String ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        byte[] six = new byte[24];
        return Stream.of(
                Arguments.of("empty", new byte[0], "magic"),
                Arguments.of("bad-magic", "\u0093NUMPX\u0001\u0000\u0000\u0000".getBytes(StandardCharsets.ISO_8859_1), "magic"),
                Arguments.of("version-4", npy(4, ok, six), "version 4.0"),
                Arguments.of("version-1.1", withMinorVersion(npy(1, ok, six), 1), "version 1.1"),
                Arguments.of("magic-only", Arrays.copyOf(npy(1, ok, six), 8), "no \\x93NUMPY magic"),
                Arguments.of("no-header", Arrays.copyOf(npy(1, "", six), 10), "malformed header at character 0: expected '{'"),
                Arguments.of("length-cut", Arrays.copyOf(npy(2, ok, six), 11), "the header length field is cut off"),
                Arguments.of("v2-no-header", Arrays.copyOf(npy(2, "", six), 12), "malformed header at character 0: expected '{'"),
                Arguments.of("header-cut", Arrays.copyOf(npy(1, ok, six), 40),
                        "truncated: the header needs " + ok.length() + " bytes, the file has 30 after the length field"),
                Arguments.of("ends-in-a-digit", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2", new byte[0]),
                        "expected ','"),
                Arguments.of("ends-after-a-comma", npy(1, "{'descr': '<f4', ", new byte[0]), "expected a quoted string"),
                Arguments.of("unquoted-key", npy(1, "{descr: '<f4'}", new byte[0]), "expected a quoted string"),
                Arguments.of("ends-in-a-key", npy(1, "{'descr", new byte[0]), "unterminated string"),
                Arguments.of("ends-after-a-key", npy(1, "{'descr'", new byte[0]), "expected ':'"),
                Arguments.of("ends-after-a-colon", npy(1, "{'descr': ", new byte[0]), "expected a string, a tuple, True or False"),
                Arguments.of("after-the-dict", npy(1, ok + " x", six), "unexpected text after the header dict"),
                Arguments.of("data-cut", Arrays.copyOf(npy(1, ok, six), npy(1, ok, six).length - 1), "truncated"),
                Arguments.of("trailing", npy(1, ok, new byte[28]), "4 bytes after the data"),
                Arguments.of("missing-key", npy(1, "{'descr': '<f4', 'shape': (2, 3), }", six), "exactly the keys"),
                Arguments.of("extra-key", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': True}", six),
                        "exactly the keys"),
                Arguments.of("not-a-dict", npy(1, "descr=<f4", six), "malformed header"),
                Arguments.of("unterminated", npy(1, "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }", six),
                        "malformed header"),
                Arguments.of("negative-dim", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", six),
                        "malformed header"),
                Arguments.of("shape-not-tuple", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': '2', }", six),
                        "'shape' must be a tuple"),
                Arguments.of("descr-not-string", npy(1, "{'descr': (4,), 'fortran_order': False, 'shape': (2, 3), }", six),
                        "'descr' must be a string"),
                Arguments.of("object-dtype", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", six),
                        "unsupported dtype '|O'"),
                Arguments.of("huge-shape", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", six),
                        "truncated"),
                Arguments.of("overflowing-shape",
                        npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", six),
                        "invalid shape"),
                Arguments.of("dimension-too-long",
                        npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", six),
                        "out of range"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedFilesNameTheFileAndTheFault(String name, byte[] bytes, String fault) throws IOException {
        Path file = dir.resolve(name + ".npy");
        Files.write(file, bytes);
        assertThatThrownBy(() -> Npy.read(file))
                .isInstanceOf(IOException.class).hasMessageStartingWith(file.toString()).hasMessageContaining(fault);
        assertThatThrownBy(() -> Npy.read(new ByteArrayInputStream(bytes), name))
                .isInstanceOf(IOException.class).hasMessageStartingWith(name + ": ").hasMessageContaining(fault);
    }

    @Test
    void writeRefusesAShapeThatDoesNotHoldTheData() {
        assertThatThrownBy(() -> Npy.write(dir.resolve("x.npy"), new long[] {2, 3}, new float[5]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x.npy").hasMessageContaining("[2, 3]");
        assertThat(dir.resolve("x.npy")).doesNotExist();
    }

    /**
     * A write replaces the file whole (a temporary file renamed over it): a reader holding the old
     * file (here a hard link to it) keeps the old bytes, never a mix, and no temporary file stays.
     */
    @Test
    void writeReplacesTheFileAtomically() throws IOException {
        Path file = dir.resolve("dump.npy");
        Npy.write(file, new long[] {2}, new float[] {1, 2});
        byte[] before = Files.readAllBytes(file);
        Path reader = Files.createLink(dir.resolve("reader.npy"), file);
        Npy.write(file, new long[] {3}, new float[] {4, 5, 6});
        assertThat(Npy.read(file)).isEqualTo(new NpyArray(new long[] {3}, new float[] {4, 5, 6}));
        assertThat(Files.readAllBytes(reader)).isEqualTo(before);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("dump.npy", "reader.npy");
        }
        Path plain = Files.writeString(dir.resolve("plain.txt"), "");
        assertThat(Files.getPosixFilePermissions(file)).as("permissions of any new file").isEqualTo(Files.getPosixFilePermissions(plain));
    }

    /** A device or a pipe is not replaced by a regular file (the rename would do that, where writing in place would not). */
    @Test
    void onlyRegularFilesAreReplaced() throws Exception {
        Path fifo = dir.resolve("pipe");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mkfifo.waitFor() == 0, "mkfifo");
        assertThatThrownBy(() -> Npy.write(fifo, new long[] {1}, new float[] {1}))
                .isInstanceOf(IOException.class).hasMessage(fifo + ": exists and is not a regular file; not replaced");
        assertThat(Files.isRegularFile(fifo)).isFalse();
        assertThat(Files.exists(fifo)).isTrue();
    }

    @Test
    void aFailedWriteLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve("taken"));
        Files.writeString(target.resolve("inside"), "x");
        assertThatThrownBy(() -> Npy.write(target, new long[] {1}, new float[] {1}))
                .isInstanceOf(IOException.class).hasMessageContaining("taken");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("taken");
        }
    }

    @Test
    void arraysAreImmutableCopies() {
        float[] data = {1, 2, 3};
        long[] shape = {3};
        NpyArray a = new NpyArray(shape, data);
        data[0] = 9;
        shape[0] = 7;
        a.data()[1] = 9;
        a.shape()[0] = 5;
        assertThat(a).isEqualTo(new NpyArray(new long[] {3}, new float[] {1, 2, 3}));
        assertThat(a.hashCode()).isEqualTo(new NpyArray(new long[] {3}, new float[] {1, 2, 3}).hashCode());
        assertThat(a).isNotEqualTo(new NpyArray(new long[] {1, 3}, new float[] {1, 2, 3}))
                .isNotEqualTo(new NpyArray(new long[] {3}, new float[] {1, 2, 4})).isNotEqualTo("NpyArray[3]");
        assertThat(a.hashCode()).isNotEqualTo(new NpyArray(new long[] {1, 3}, new float[] {1, 2, 3}).hashCode());
        assertThatThrownBy(() -> new NpyArray(new long[] {2, 2}, new float[3])).isInstanceOf(IllegalArgumentException.class);
    }

    /** numpy 2.4's header lengths for float32 arrays of shape (3, 1, ..., 1), ranks 1 to 64 (np.save). */
    private static final int[] NUMPY_HEADER_LENGTHS = {
        128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 192, 192,
        192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192, 192,
        192, 192, 192, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256,
        256, 256, 256, 256, 256, 256, 256, 256, 256, 320, 320, 320, 320, 320, 320, 320};

    /** Ranks 14 and 36 put the text just short of and exactly on a 64-byte boundary. */
    @Test
    void headerLengthsAreNumpysForEveryRankItWrites() throws IOException {
        for (int rank = 1; rank <= 64; rank++) {
            long[] shape = new long[rank];
            Arrays.fill(shape, 1);
            shape[0] = 3;
            Path file = dir.resolve("r" + rank + ".npy");
            Npy.write(file, shape, new float[3]);
            assertThat(Files.size(file) - 12).as("header length at rank %d", rank).isEqualTo(NUMPY_HEADER_LENGTHS[rank - 1]);
        }
    }

    /** A header over 64 KiB needs format 2.0, as numpy 2.4 decides it (65536 and 65600 bytes of header here). */
    @ParameterizedTest
    @ValueSource(ints = {21817, 21818})
    void aHeaderTooLongForVersion1IsWrittenAsVersion2(int rank) throws IOException {
        long[] shape = new long[rank];
        Arrays.fill(shape, 1);
        Path file = dir.resolve("long.npy");
        Npy.write(file, shape, new float[] {2.5f});
        byte[] bytes = Files.readAllBytes(file);
        boolean v1 = rank == 21817;
        assertThat(bytes[6]).as("major version").isEqualTo((byte) (v1 ? 1 : 2));
        assertThat(bytes.length - 4).as("header length").isEqualTo(v1 ? 65536 : 65600);
        ByteBuffer length = ByteBuffer.wrap(bytes, 8, 4).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(v1 ? Short.toUnsignedInt(length.getShort()) : length.getInt()).isEqualTo(v1 ? 65526 : 65588);
        NpyArray read = Npy.read(file);
        assertThat(read.rank()).isEqualTo(rank);
        assertThat(read.data()).containsExactly(2.5f);
    }

    @Test
    void python2LongLiteralsInTheShapeAreRead() throws IOException {
        byte[] file = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }", new byte[8]);
        NpyArray a = Npy.read(new ByteArrayInputStream(file), "old");
        assertThat(a.rank()).isEqualTo(2);
        assertThat(a.dim(0)).isEqualTo(2);
        assertThat(a.dim(1)).isEqualTo(1);
        assertThat(a.size()).isEqualTo(2);
        assertThat(a).hasToString("NpyArray[2, 1]");
    }

    /** Format 3.0 headers are UTF-8, older ones Latin-1: an unknown key shows as it was written. */
    @Test
    void headerTextIsUtf8InVersion3AndLatin1Before() {
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '\u00e9': True}";
        String utf8Bytes = new String(header.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> Npy.read(new ByteArrayInputStream(npy(3, utf8Bytes, new byte[4])), "v3"))
                .hasMessage("v3: the header must have exactly the keys [descr, fortran_order, shape],"
                        + " found [descr, fortran_order, shape, \u00e9]");
        assertThatThrownBy(() -> Npy.read(new ByteArrayInputStream(npy(1, header, new byte[4])), "v1"))
                .hasMessageEndingWith("found [descr, fortran_order, shape, \u00e9]");
        assertThatThrownBy(() -> Npy.read(new ByteArrayInputStream(npy(1, utf8Bytes, new byte[4])), "v1"))
                .hasMessageEndingWith("found [descr, fortran_order, shape, \u00c3\u00a9]");
    }

    /** A version {@code major}.0 file with {@code header} (unpadded: readers must not rely on alignment). */
    private static byte[] npy(int major, String header, byte[] data) {
        byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(12 + text.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) text.length);
        } else {
            b.putInt(text.length);
        }
        b.put(text).put(data);
        return Arrays.copyOf(b.array(), b.position());
    }

    private static byte[] withMinorVersion(byte[] file, int minor) {
        byte[] copy = file.clone();
        copy[7] = (byte) minor;
        return copy;
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }

    private static Path resource(String name) throws URISyntaxException {
        URL url = NpyTest.class.getClassLoader().getResource(name);
        assertThat(url).as("test resource " + name).isNotNull();
        return Path.of(url.toURI());
    }
}
