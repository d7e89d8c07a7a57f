package io.github.magmajava.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * NumPy {@code .npy} files of floats, the format of the reference data and of tensor dumps.
 * Writes float32 ({@code '<f4'}, C order, format 1.0, header padded so the data starts at a
 * multiple of 64, byte for byte what {@code numpy.save} writes). Reads formats 1.0 to 3.0 with
 * {@code '<f4'}, and {@code '<f2'} and {@code '<i8'} widened to float; anything else, and any
 * malformed, truncated or Fortran-ordered file, is an {@link IOException} naming the file and the
 * fault. A header announcing more data than the file holds is refused before anything is allocated.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGNMENT = 64;
    private static final int GROWTH_DIGITS = 21;
    private static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;
    private static final Set<String> HEADER_KEYS = Set.of("descr", "fortran_order", "shape");

    private Npy() {
    }

    /** An array read from a {@code .npy} file: its shape and its elements in C (row-major) order. */
    public record NpyArray(long[] shape, float[] data) {
        /** @throws IllegalArgumentException when {@code data.length} is not the product of {@code shape} */
        public NpyArray {
            shape = shape.clone();
            data = data.clone();
            if (Tensor.numel(shape) != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + Tensor.numel(shape)
                        + " elements, the data has " + data.length);
            }
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** A copy of the elements. */
        @Override
        public float[] data() {
            return data.clone();
        }

        public int rank() {
            return shape.length;
        }

        public long dim(int i) {
            return shape[i];
        }

        public int size() {
            return data.length;
        }

        /** Element {@code i} in C order. */
        public float get(int i) {
            return data[i];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof NpyArray other && Arrays.equals(shape, other.shape) && Arrays.equals(data, other.data);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "NpyArray" + Arrays.toString(shape);
        }
    }

    /**
     * Writes {@code data} as a float32 array of {@code shape}, atomically: into a temporary file
     * beside {@code file}, renamed over it once complete, so that a failed or interrupted write
     * never leaves a truncated array where a reader expects a whole one.
     *
     * @throws IllegalArgumentException when the shape has a negative dimension or does not hold {@code data.length} elements
     * @throws IOException              when writing fails (the temporary file is removed, {@code file} is untouched),
     *                                  or when {@code file} exists and is not a regular file
     */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        if (Tensor.numel(shape) != data.length) {
            throw new IllegalArgumentException("cannot write " + file + ": shape " + Arrays.toString(shape) + " holds "
                    + Tensor.numel(shape) + " elements, the data has " + data.length);
        }
        ByteBuffer body = ByteBuffer.allocate(Math.multiplyExact(data.length, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        body.asFloatBuffer().put(data);
        Path target = file.toAbsolutePath();
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            // The rename would put a regular file in place of a device or a pipe.
            throw new IOException(file + ": exists and is not a regular file; not replaced");
        }
        Path temp = target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        // Created as any new file is (permissions from the umask), not owner-only as Files.createTempFile makes it.
        AtomicFiles.write(temp, target, t -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(t, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE))) {
                out.write(header(shape));
                out.write(body.array());
            }
        }, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The magic, version and header dict, laid out as numpy 1.24 writes it: the dict, spare
     * spaces for the first dimension to grow to 21 digits, spaces up to a multiple of 64 (a whole
     * 64 more when already aligned), a newline.
     */
    private static byte[] header(long[] shape) {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + (shape.length == 1 ? "," : "") + "), }";
        int growth = shape.length == 0 ? 0 : Math.max(0, GROWTH_DIGITS - Long.toString(shape[0]).length());
        int text = dict.length() + growth + 1;
        boolean v1 = text + ALIGNMENT - (MAGIC.length + 4 + text) % ALIGNMENT <= 0xFFFF;
        int prefix = MAGIC.length + 2 + (v1 ? 2 : 4);
        int padded = text + ALIGNMENT - (prefix + text) % ALIGNMENT;
        ByteBuffer header = ByteBuffer.allocate(prefix + padded).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).put((byte) (v1 ? 1 : 2)).put((byte) 0);
        if (v1) {
            header.putShort((short) padded);
        } else {
            header.putInt(padded);
        }
        header.put(dict.getBytes(StandardCharsets.US_ASCII));
        while (header.position() < header.limit() - 1) {
            header.put((byte) ' ');
        }
        return header.put((byte) '\n').array();
    }

    public static NpyArray read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(file + ": " + size + " bytes, too large for a float[]");
        }
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Reads a whole {@code .npy} stream (not closed); {@code source} names it in errors. */
    public static NpyArray read(InputStream in, String source) throws IOException {
        return parse(in.readAllBytes(), source);
    }

    /** Reads a classpath resource, e.g. {@code fixtures/magma/tiny_a/logits.npy}. */
    public static NpyArray readResource(String name) throws IOException {
        String path = name.startsWith("/") ? name.substring(1) : name;
        try (InputStream in = Npy.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IOException("no classpath resource " + path);
            }
            return read(in, "classpath:" + path);
        }
    }

    private static NpyArray parse(byte[] bytes, String source) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < MAGIC.length + 4 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw fault(source, "not a .npy file (no \\x93NUMPY magic)");
        }
        int major = bytes[6] & 0xFF;
        int minor = bytes[7] & 0xFF;
        if (major < 1 || major > 3 || minor != 0) {
            throw fault(source, "unsupported .npy format version " + major + "." + minor + " (1.0, 2.0 and 3.0 are read)");
        }
        int headerStart = major == 1 ? 10 : 12;
        if (bytes.length < headerStart) {
            throw fault(source, "truncated: the header length field is cut off");
        }
        long headerLength = major == 1 ? Short.toUnsignedInt(buf.getShort(8)) : Integer.toUnsignedLong(buf.getInt(8));
        if (headerStart + headerLength > bytes.length) {
            throw fault(source, "truncated: the header needs " + headerLength + " bytes, the file has "
                    + (bytes.length - headerStart) + " after the length field");
        }
        int dataStart = (int) (headerStart + headerLength);
        String header = new String(bytes, headerStart, (int) headerLength,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> dict = HeaderParser.parse(header, source);

        if (!(dict.get("descr") instanceof String descr)) {
            throw fault(source, "header 'descr' must be a string, found " + dict.get("descr"));
        }
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw fault(source, "header 'fortran_order' must be True or False, found " + dict.get("fortran_order"));
        }
        if (fortran) {
            throw fault(source, "Fortran-ordered arrays are not supported (save with C order)");
        }
        if (!(dict.get("shape") instanceof long[] shape)) {
            throw fault(source, "header 'shape' must be a tuple of integers, found " + dict.get("shape"));
        }
        ElementType type = ElementType.of(descr)
                .orElseThrow(() -> fault(source, "unsupported dtype '" + descr + "' (read: '<f4', '<f2', '<i8')"));
        long count;
        try {
            count = Tensor.numel(shape);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw fault(source, "invalid shape " + Arrays.toString(shape));
        }
        long available = bytes.length - dataStart;
        if (count > available / type.size) {
            throw fault(source, "truncated: shape " + Arrays.toString(shape) + " of " + descr + " needs " + count + " x "
                    + type.size + " bytes of data, the file has " + available);
        }
        if (count * type.size != available) {
            throw fault(source, (available - count * type.size) + " bytes after the data of shape " + Arrays.toString(shape)
                    + " " + descr);
        }
        if (count > MAX_ELEMENTS) {
            throw fault(source, count + " elements, too many for a float[]");
        }
        float[] data = new float[(int) count];
        buf.position(dataStart);
        switch (type) {
            case F4 -> buf.asFloatBuffer().get(data);
            case F2 -> {
                for (int i = 0; i < data.length; i++) {
                    data[i] = Float.float16ToFloat(buf.getShort());
                }
            }
            case I8 -> {
                for (int i = 0; i < data.length; i++) {
                    data[i] = buf.getLong();
                }
            }
        }
        return new NpyArray(shape, data);
    }

    private static IOException fault(String source, String message) {
        return new IOException(source + ": " + message);
    }

    private enum ElementType {
        F4("<f4", 4), F2("<f2", 2), I8("<i8", 8);

        final String descr;
        final int size;

        ElementType(String descr, int size) {
            this.descr = descr;
            this.size = size;
        }

        static Optional<ElementType> of(String descr) {
            return Arrays.stream(values()).filter(t -> t.descr.equals(descr)).findFirst();
        }
    }

    /**
     * The header is a Python dict literal such as {@code {'descr': '<f4', 'fortran_order': False,
     * 'shape': (2, 3), }}: string keys, and values that are strings, booleans or integer tuples.
     * Whitespace is skipped by {@link #peek}, which every step calls before it reads.
     */
    private static final class HeaderParser {
        private final String text;
        private final String source;
        private int pos;

        private HeaderParser(String text, String source) {
            this.text = text;
            this.source = source;
        }

        static Map<String, Object> parse(String header, String source) throws IOException {
            HeaderParser p = new HeaderParser(header, source);
            Map<String, Object> dict = p.dict();
            p.skipSpace();
            if (p.pos != header.length()) {
                throw p.error("unexpected text after the header dict");
            }
            if (!dict.keySet().equals(HEADER_KEYS)) {
                throw fault(source, "the header must have exactly the keys " + HEADER_KEYS.stream().sorted().toList()
                        + ", found " + dict.keySet());
            }
            return dict;
        }

        private Map<String, Object> dict() throws IOException {
            expect('{');
            Map<String, Object> dict = new LinkedHashMap<>();
            while (!peek('}')) {
                String key = string();
                expect(':');
                if (dict.put(key, value()) != null) {
                    throw error("key '" + key + "' appears twice");
                }
                if (!peek('}')) {
                    expect(',');
                }
            }
            expect('}');
            return dict;
        }

        private Object value() throws IOException {
            if (peek('\'') || peek('"')) {
                return string();
            }
            if (peek('(')) {
                return tuple();
            }
            for (String word : List.of("True", "False")) {
                if (text.startsWith(word, pos)) {
                    pos += word.length();
                    return word.equals("True");
                }
            }
            throw error("expected a string, a tuple, True or False");
        }

        private long[] tuple() throws IOException {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (!peek(')')) {
                dims.add(integer());
                if (!peek(')')) {
                    expect(',');
                }
            }
            expect(')');
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        private long integer() throws IOException {
            int start = pos;
            while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
                pos++;
            }
            if (start == pos) {
                throw error("expected a non-negative integer");
            }
            String digits = text.substring(start, pos);
            if (pos < text.length() && text.charAt(pos) == 'L') {
                pos++; // Python 2 long literal, as old numpy wrote it
            }
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                throw error("dimension " + digits + " is out of range");
            }
        }

        private String string() throws IOException {
            if (pos >= text.length() || (text.charAt(pos) != '\'' && text.charAt(pos) != '"')) {
                throw error("expected a quoted string");
            }
            char quote = text.charAt(pos++);
            int end = text.indexOf(quote, pos);
            if (end < 0) {
                throw error("unterminated string");
            }
            String s = text.substring(pos, end);
            pos = end + 1;
            return s;
        }

        private boolean peek(char c) {
            skipSpace();
            return pos < text.length() && text.charAt(pos) == c;
        }

        private void expect(char c) throws IOException {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        private void skipSpace() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                pos++;
            }
        }

        private IOException error(String what) {
            return fault(source, "malformed header at character " + pos + ": " + what + " in " + text.strip());
        }
    }
}
