package io.github.magmajava.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** The reference data written by tools/fixtures/make_image_fixtures.py (Pillow 9.4 + torchvision). */
final class ImageFixtures {
    /** One row of cases.tsv: a source file, the mode Pillow opened it in, a size, the expected uint8 RGB file. */
    record Case(String source, String pillowMode, int size, String expected) {
        boolean isJpeg() {
            return source.endsWith(".jpg");
        }

        @Override
        public String toString() {
            return source + " @" + size + " (" + pillowMode + ")";
        }
    }

    private ImageFixtures() {
    }

    static Path path(String relative) {
        URL url = ImageFixtures.class.getResource("/fixtures/image/" + relative);
        if (url == null) {
            throw new IllegalStateException("missing fixture fixtures/image/" + relative
                    + " (regenerate with tools/fixtures/make_image_fixtures.py)");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path source(String name) {
        return path("src/" + name);
    }

    static byte[] bytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(path("cases.tsv"), StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                cases.add(new Case(f[0], f[1], Integer.parseInt(f[2]), f[3]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cases;
    }

    /** The expected HWC uint8 RGB bytes of a case. */
    static byte[] expectedRgb(Case c) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(path("expected/" + c.expected())))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A little-endian float32 .npy array, flattened in C order; checks the dtype and shape. */
    static float[] npyFloat32(Path p, int... shape) {
        ByteBuffer b = ByteBuffer.wrap(bytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        int major = b.get(6);
        int headerLength = major == 1 ? Short.toUnsignedInt(b.getShort(8)) : b.getInt(8);
        int dataStart = (major == 1 ? 10 : 12) + headerLength;
        String header = new String(b.array(), major == 1 ? 10 : 12, headerLength, StandardCharsets.US_ASCII);
        StringBuilder expectedShape = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            expectedShape.append(i > 0 ? ", " : "").append(shape[i]);
        }
        expectedShape.append(shape.length == 1 ? ",)" : ")");
        if (!header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False")
                || !header.contains("'shape': " + expectedShape)) {
            throw new IllegalStateException(p + ": unexpected npy header " + header.trim());
        }
        b.position(dataStart);
        float[] data = new float[(b.remaining()) / 4];
        b.asFloatBuffer().get(data);
        return data;
    }

    /** The largest |a - b| over two equally long uint8 arrays. */
    static int maxAbsDiff(byte[] a, byte[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths " + a.length + " and " + b.length);
        }
        int max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((a[i] & 0xFF) - (b[i] & 0xFF)));
        }
        return max;
    }
}
