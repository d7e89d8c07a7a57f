package io.github.magmajava.image;

import com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReader;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Node;

/**
 * Decodes PNG, JPEG, GIF (first frame) and BMP with ImageIO into the samples and the mode Pillow
 * would give the same file, so that the resize afterwards follows Pillow's path for that mode.
 * Raw raster samples are used throughout, never ImageIO's colour-managed RGB: Pillow ignores ICC
 * profiles and gamma, and so must we. The pixel limit is checked from the header before any pixel
 * is decoded.
 */
final class ImageDecoder {
    private enum Format { PNG, JPEG, GIF, BMP }

    private ImageDecoder() {
    }

    /** Decodes the whole stream; every failure becomes an {@link ImageLoadException} naming {@code source}. */
    static PillowImage decode(ImageInputStream in, String source, long pixelLimit) throws ImageLoadException {
        Format format = sniff(in, source);
        ImageReader reader = readerFor(format, source);
        List<String> warnings = new ArrayList<>();
        try {
            // Pillow loads a PNG whose chunks after the pixel data are cut off; ImageIO does too when it
            // skips the metadata it does not need (it still reads every chunk of palette PNGs).
            reader.setInput(in, false, format == Format.PNG);
            reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
            return switch (format) {
                case PNG -> png(reader, source, pixelLimit);
                case JPEG -> jpeg(reader, source, pixelLimit, warnings);
                case GIF -> gif(reader, source, pixelLimit);
                case BMP -> bmp(reader, source, pixelLimit);
            };
        } catch (ImageLoadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageLoadException(source, "truncated or corrupt " + format + " image: " + describe(e), e);
        } catch (OutOfMemoryError e) {
            throw new ImageLoadException(source, "not enough memory to decode this " + format
                    + " image (raise -Xmx or lower the pixel limit)", e);
        } finally {
            reader.dispose();
        }
    }

    /** The exception's message with its causes', e.g. "Error reading PNG image data (Unexpected end of ZLIB input stream)". */
    private static String describe(Throwable e) {
        StringBuilder text = new StringBuilder(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        Throwable c = e.getCause();
        for (int depth = 0; c != null && depth < 4; c = c.getCause(), depth++) {
            text.append(" (").append(c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName()).append(')');
        }
        return text.toString();
    }

    private static Format sniff(ImageInputStream in, String source) throws ImageLoadException {
        byte[] magic = new byte[8];
        int n = 0;
        try {
            in.mark();
            for (int r = 0; n < magic.length && r >= 0; n += Math.max(r, 0)) {
                r = in.read(magic, n, magic.length - n);
            }
            in.reset();
        } catch (IOException e) {
            throw new ImageLoadException(source, "cannot read: " + e.getMessage(), e);
        }
        if (n == 0) {
            throw new ImageLoadException(source, "empty file, not an image");
        }
        if (startsWith(magic, n, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return Format.PNG;
        }
        if (startsWith(magic, n, 0xFF, 0xD8, 0xFF)) {
            return Format.JPEG;
        }
        if (startsWith(magic, n, 'G', 'I', 'F', '8', '7', 'a') || startsWith(magic, n, 'G', 'I', 'F', '8', '9', 'a')) {
            return Format.GIF;
        }
        if (startsWith(magic, n, 'B', 'M')) {
            return Format.BMP;
        }
        throw new ImageLoadException(source, "not a PNG, JPEG, GIF or BMP image (starts with bytes "
                + HexFormat.ofDelimiter(" ").formatHex(magic, 0, n) + ")");
    }

    private static boolean startsWith(byte[] data, int length, int... prefix) {
        if (length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((data[i] & 0xFF) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * ImageIO's reader for the format: for JPEG TwelveMonkeys' (it survives odd segments), for the
     * others the JDK's, whose metadata formats the code below reads; any other only as a fallback.
     */
    private static ImageReader readerFor(Format format, String source) throws ImageLoadException {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.name().toLowerCase(Locale.ROOT));
        ImageReader chosen = null;
        while (readers.hasNext()) {
            ImageReader r = readers.next();
            boolean preferred = format == Format.JPEG ? r instanceof JPEGImageReader
                    : r.getClass().getName().startsWith("com.sun.imageio.plugins.");
            if (chosen == null || preferred) {
                chosen = r;
            }
        }
        if (chosen == null) {
            throw new ImageLoadException(source, "no ImageIO reader for " + format + " on this JVM");
        }
        return chosen;
    }

    private static void checkSize(String source, long width, long height, long pixelLimit) throws ImageLoadException {
        if (width <= 0 || height <= 0) {
            throw new ImageLoadException(source, "zero-size image (" + width + "x" + height + ")");
        }
        if (width * height > pixelLimit) {
            throw new ImageLoadException(source, "image of " + width + "x" + height + " = " + width * height
                    + " pixels exceeds the limit of " + pixelLimit + " pixels (decompression bomb?)");
        }
    }

    // ---------------------------------------------------------------- PNG

    private static PillowImage png(ImageReader reader, String source, long pixelLimit) throws IOException {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkSize(source, width, height, pixelLimit);
        Node root = tree(reader.getImageMetadata(0), "javax_imageio_png_1.0");
        Node ihdr = child(root, "IHDR");
        int bitDepth = Integer.parseInt(attribute(ihdr, "bitDepth"));
        String colorType = attribute(ihdr, "colorType");
        Node plte = child(root, "PLTE");
        Raster raster = reader.read(0).getRaster();
        // Pillow's PngImagePlugin modes: 16-bit samples keep their high byte (";16B" unpackers),
        // 16-bit grey becomes "I", 16-bit grey+alpha becomes RGBA. A tRNS colour does not change the
        // mode; ImageIO may add an alpha band for it, which is never read here.
        int shift = bitDepth == 16 ? 8 : 0;
        return switch (colorType) {
            case "Grayscale" -> switch (bitDepth) {
                case 1 -> PillowImage.of8bit(PillowMode.BILEVEL, width, height, samples(raster, new int[] {0}, 0, 255));
                case 2, 4 -> PillowImage.of8bit(PillowMode.L, width, height,
                        samples(raster, new int[] {0}, 0, 255 / ((1 << bitDepth) - 1)));
                case 8 -> PillowImage.of8bit(PillowMode.L, width, height, samples(raster, new int[] {0}, 0, 1));
                default -> PillowImage.ofInt(width, height, raster.getSamples(0, 0, width, height, 0, (int[]) null));
            };
            case "RGB" -> PillowImage.of8bit(PillowMode.RGB, width, height, samples(raster, new int[] {0, 1, 2}, shift, 1));
            case "Palette" -> PillowImage.ofPalette(width, height, samples(raster, new int[] {0}, 0, 1), pngPalette(plte));
            case "GrayAlpha" -> bitDepth == 16
                    ? PillowImage.of8bit(PillowMode.RGBA, width, height, samples(raster, new int[] {0, 0, 0, 1}, 8, 1))
                    : PillowImage.of8bit(PillowMode.LA, width, height, samples(raster, new int[] {0, 1}, 0, 1));
            case "RGBAlpha" -> PillowImage.of8bit(PillowMode.RGBA, width, height,
                    samples(raster, new int[] {0, 1, 2, 3}, shift, 1));
            default -> throw new ImageLoadException(source, "unsupported PNG colour type " + colorType);
        };
    }

    private static byte[] pngPalette(Node plte) {
        byte[] palette = greyRamp();
        if (plte == null) {
            return palette;
        }
        for (Node e = plte.getFirstChild(); e != null; e = e.getNextSibling()) {
            int index = Integer.parseInt(attribute(e, "index"));
            palette[3 * index] = (byte) Integer.parseInt(attribute(e, "red"));
            palette[3 * index + 1] = (byte) Integer.parseInt(attribute(e, "green"));
            palette[3 * index + 2] = (byte) Integer.parseInt(attribute(e, "blue"));
        }
        return palette;
    }

    /** A fresh Pillow palette: entries a file does not define stay at the grey ramp (i, i, i). */
    private static byte[] greyRamp() {
        byte[] palette = new byte[3 * 256];
        for (int i = 0; i < 256; i++) {
            palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (byte) i;
        }
        return palette;
    }

    // ---------------------------------------------------------------- JPEG

    private enum JpegColorSpace { GRAY, YCBCR, RGB, CMYK, YCCK }

    private static PillowImage jpeg(ImageReader reader, String source, long pixelLimit, List<String> warnings)
            throws IOException {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkSize(source, width, height, pixelLimit);
        Node root = tree(reader.getImageMetadata(0), "javax_imageio_jpeg_image_1.0");
        Node markers = child(root, "markerSequence");
        Node sof = child(markers, "sof");
        int precision = Integer.parseInt(attribute(sof, "samplePrecision"));
        if (precision != 8) {
            throw new ImageLoadException(source, "cannot handle " + precision + "-bit JPEG samples (Pillow cannot either)");
        }
        JpegColorSpace colorSpace = jpegColorSpace(source, root, markers, sof);
        // readRaster gives libjpeg's output without colour conversion (no ICC profile applied);
        // the conversion Pillow's libjpeg would do follows below.
        Raster raster = reader.readRaster(0, null);
        // libjpeg only warns where the data ends early and fills in grey; Pillow refuses such files.
        for (String w : warnings) {
            String lower = w.toLowerCase(Locale.ROOT);
            if (lower.contains("premature end of jpeg file") || lower.contains("missing eoi")) {
                throw new ImageLoadException(source, "truncated JPEG: " + w);
            }
        }
        if (raster.getWidth() != width || raster.getHeight() != height) {
            throw new ImageLoadException(source, "JPEG decoded to " + raster.getWidth() + "x" + raster.getHeight()
                    + ", its header says " + width + "x" + height);
        }
        List<int[]> sampling = new ArrayList<>();
        for (Node c = sof.getFirstChild(); c != null; c = c.getNextSibling()) {
            sampling.add(new int[] {Integer.parseInt(attribute(c, "HsamplingFactor")),
                    Integer.parseInt(attribute(c, "VsamplingFactor"))});
        }
        int bands = sampling.size();
        if (raster.getNumBands() != bands) {
            throw new ImageLoadException(source, "JPEG decoded to " + raster.getNumBands() + " bands, its header has "
                    + bands + " components");
        }
        byte[] samples = samples(raster, IntStream.range(0, bands).toArray(), 0, 1);
        int maxH = sampling.stream().mapToInt(f -> f[0]).max().orElseThrow();
        int maxV = sampling.stream().mapToInt(f -> f[1]).max().orElseThrow();
        for (int c = 0; c < bands; c++) {
            if (sampling.get(c)[0] == maxH && 2 * sampling.get(c)[1] == maxV) {
                LibjpegTurbo.smoothVerticalUpsampling(samples, width, height, bands, c);
            }
        }
        return switch (colorSpace) {
            case GRAY -> PillowImage.of8bit(PillowMode.L, width, height, samples);
            case RGB -> PillowImage.of8bit(PillowMode.RGB, width, height, samples);
            case YCBCR -> PillowImage.of8bit(PillowMode.RGB, width, height, LibjpegTurbo.yccToRgb(samples, 3));
            case CMYK -> PillowImage.of8bit(PillowMode.CMYK, width, height, LibjpegTurbo.invert(samples));
            case YCCK -> PillowImage.of8bit(PillowMode.CMYK, width, height, LibjpegTurbo.ycckToPillowCmyk(samples));
        };
    }

    /** libjpeg's guess of the colour space (jdapimin.c default_decompress_parms). */
    private static JpegColorSpace jpegColorSpace(String source, Node root, Node markers, Node sof)
            throws ImageLoadException {
        List<Integer> ids = new ArrayList<>();
        for (Node c = sof.getFirstChild(); c != null; c = c.getNextSibling()) {
            ids.add(Integer.parseInt(attribute(c, "componentId")));
        }
        Node variety = child(root, "JPEGvariety");
        boolean jfif = variety != null && child(variety, "app0JFIF") != null;
        Node adobe = child(markers, "app14Adobe");
        Integer transform = adobe == null ? null : Integer.parseInt(attribute(adobe, "transform"));
        return switch (ids.size()) {
            case 1 -> JpegColorSpace.GRAY;
            case 3 -> {
                if (jfif) {
                    yield JpegColorSpace.YCBCR;
                }
                if (transform != null) {
                    yield transform == 0 ? JpegColorSpace.RGB : JpegColorSpace.YCBCR;
                }
                yield ids.equals(List.of((int) 'R', (int) 'G', (int) 'B')) ? JpegColorSpace.RGB : JpegColorSpace.YCBCR;
            }
            case 4 -> transform == null || transform == 0 ? JpegColorSpace.CMYK : JpegColorSpace.YCCK;
            default -> throw new ImageLoadException(source, "cannot handle a JPEG with " + ids.size() + " components");
        };
    }

    // ---------------------------------------------------------------- GIF

    private static PillowImage gif(ImageReader reader, String source, long pixelLimit) throws IOException {
        Node stream = tree(reader.getStreamMetadata(), "javax_imageio_gif_stream_1.0");
        Node screen = child(stream, "LogicalScreenDescriptor");
        int screenWidth = Integer.parseInt(attribute(screen, "logicalScreenWidth"));
        int screenHeight = Integer.parseInt(attribute(screen, "logicalScreenHeight"));
        Node image = tree(reader.getImageMetadata(0), "javax_imageio_gif_image_1.0");
        Node descriptor = child(image, "ImageDescriptor");
        int left = Integer.parseInt(attribute(descriptor, "imageLeftPosition"));
        int top = Integer.parseInt(attribute(descriptor, "imageTopPosition"));
        int frameWidth = Integer.parseInt(attribute(descriptor, "imageWidth"));
        int frameHeight = Integer.parseInt(attribute(descriptor, "imageHeight"));
        // Pillow's canvas is the logical screen, grown to hold the first frame.
        int width = Math.max(screenWidth, left + frameWidth);
        int height = Math.max(screenHeight, top + frameHeight);
        checkSize(source, width, height, pixelLimit);
        checkSize(source, frameWidth, frameHeight, pixelLimit);

        Node table = child(image, "LocalColorTable");
        if (table == null) {
            table = child(stream, "GlobalColorTable");
        }
        Node control = child(image, "GraphicControlExtension");
        int fill = control != null && "TRUE".equals(attribute(control, "transparentColorFlag"))
                ? Integer.parseInt(attribute(control, "transparentColorIndex")) : 0;

        Raster raster = reader.read(0).getRaster();
        byte[] frame = samples(raster, new int[] {0}, 0, 1);
        byte[] canvas;
        if (width == frameWidth && height == frameHeight) {
            canvas = frame;
        } else {
            canvas = new byte[width * height];
            Arrays.fill(canvas, (byte) fill);
            for (int y = 0; y < frameHeight; y++) {
                System.arraycopy(frame, y * frameWidth, canvas, (top + y) * width + left, frameWidth);
            }
        }
        // Pillow drops a palette that is the identity grey ramp and opens the GIF as "L".
        byte[] palette = greyRamp();
        boolean identity = true;
        if (table != null) {
            for (Node e = table.getFirstChild(); e != null; e = e.getNextSibling()) {
                int index = Integer.parseInt(attribute(e, "index"));
                int r = Integer.parseInt(attribute(e, "red"));
                int g = Integer.parseInt(attribute(e, "green"));
                int b = Integer.parseInt(attribute(e, "blue"));
                identity &= r == index && g == index && b == index;
                palette[3 * index] = (byte) r;
                palette[3 * index + 1] = (byte) g;
                palette[3 * index + 2] = (byte) b;
            }
        }
        return identity ? PillowImage.of8bit(PillowMode.L, width, height, canvas)
                : PillowImage.ofPalette(width, height, canvas, palette);
    }

    // ---------------------------------------------------------------- BMP

    private static PillowImage bmp(ImageReader reader, String source, long pixelLimit) throws IOException {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        checkSize(source, width, height, pixelLimit);
        Node root = tree(reader.getImageMetadata(0), "javax_imageio_bmp_1.0");
        int bits = Integer.parseInt(value(child(root, "BitsPerPixel")));
        // What Pillow reads: uncompressed, RLE8, RLE4 and bit fields. Not an embedded JPEG or PNG
        // (4, 5), whose size field ImageIO trusts: a 55-byte file made it allocate 1.5 GB (fuzzing).
        int compression = Integer.parseInt(value(child(root, "Compression")));
        if (compression < 0 || compression > 3) {
            throw new ImageLoadException(source, "unsupported BMP compression (" + compression
                    + "); uncompressed, RLE and bit-field BMPs are read");
        }
        BufferedImage decoded = reader.read(0);
        Raster raster = decoded.getRaster();
        ColorModel model = decoded.getColorModel();
        if (bits <= 8) {
            // The JDK opens a palette that is the identity grey ramp as plain greyscale, Pillow as "L".
            return model instanceof IndexColorModel palette ? bmpIndexed(palette, width, height, raster)
                    : PillowImage.of8bit(PillowMode.L, width, height, samples(raster, new int[] {0}, 0, 1));
        }
        boolean eightBit = true;
        for (int size : raster.getSampleModel().getSampleSize()) {
            eightBit &= size == 8;
        }
        boolean alpha = model.hasAlpha() && raster.getNumBands() == 4;
        if (eightBit) {
            return alpha ? PillowImage.of8bit(PillowMode.RGBA, width, height, samples(raster, new int[] {0, 1, 2, 3}, 0, 1))
                    : PillowImage.of8bit(PillowMode.RGB, width, height, samples(raster, new int[] {0, 1, 2}, 0, 1));
        }
        // Bit fields of other widths (16-bit 5-6-5 and 5-5-5): Pillow widens an n-bit field to
        // v * 255 / (2^n - 1) rounded down; ImageIO's colour model rounds to nearest, one off for
        // a third of the values. The raster's bands are the R, G, B masks' fields.
        long[] max = new long[3];
        for (int c = 0; c < 3; c++) {
            max[c] = (1L << raster.getSampleModel().getSampleSize(c)) - 1; // a hostile mask may be 0 or 32 bits wide
        }
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = 3 * (y * width + x);
                for (int c = 0; c < 3; c++) {
                    rgb[p + c] = (byte) (max[c] == 0 ? 0 : Integer.toUnsignedLong(raster.getSample(x, y, c)) * 255 / max[c]);
                }
            }
        }
        return PillowImage.of8bit(PillowMode.RGB, width, height, rgb);
    }

    /**
     * Pillow's BmpImagePlugin: a palette of only greys (i, i, i), or of black and white alone,
     * makes "L" or "1". The palette comes from the colour model: the JDK's BMP metadata names the
     * stored B, G, R bytes red, green, blue.
     */
    private static PillowImage bmpIndexed(IndexColorModel model, int width, int height, Raster raster) {
        int colors = model.getMapSize();
        byte[] indices = samples(raster, new int[] {0}, 0, 1);
        boolean grey = true;
        for (int i = 0; i < colors; i++) {
            int expected = colors == 2 ? 255 * i : i;
            grey &= model.getRed(i) == expected && model.getGreen(i) == expected && model.getBlue(i) == expected;
        }
        if (grey && colors == 2) {
            for (int i = 0; i < indices.length; i++) {
                indices[i] = (byte) (indices[i] == 0 ? 0 : 255);
            }
            return PillowImage.of8bit(PillowMode.BILEVEL, width, height, indices);
        }
        if (grey) {
            return PillowImage.of8bit(PillowMode.L, width, height, indices);
        }
        byte[] palette = greyRamp();
        for (int i = 0; i < Math.min(colors, 256); i++) {
            palette[3 * i] = (byte) model.getRed(i);
            palette[3 * i + 1] = (byte) model.getGreen(i);
            palette[3 * i + 2] = (byte) model.getBlue(i);
        }
        return PillowImage.ofPalette(width, height, indices, palette);
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The chosen bands of every pixel, interleaved, each sample shifted right by {@code shift} and
     * multiplied by {@code scale} (16-bit to 8-bit, or 1/2/4-bit grey to 8-bit).
     */
    private static byte[] samples(Raster raster, int[] bands, int shift, int scale) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        int n = raster.getNumBands();
        byte[] out = new byte[width * height * bands.length];
        int[] row = new int[width * n];
        int o = 0;
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            for (int x = 0; x < width; x++) {
                for (int band : bands) {
                    out[o++] = (byte) ((row[x * n + band] >> shift) * scale);
                }
            }
        }
        return out;
    }

    private static Node tree(IIOMetadata metadata, String format) throws IOException {
        if (metadata == null) {
            throw new IOException("no metadata");
        }
        return metadata.getAsTree(format);
    }

    private static Node child(Node parent, String name) {
        for (Node c = parent.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c.getNodeName().equals(name)) {
                return c;
            }
        }
        return null;
    }

    private static String attribute(Node node, String name) {
        Node a = node.getAttributes().getNamedItem(name);
        if (a == null) {
            throw new IllegalStateException("metadata node " + node.getNodeName() + " lacks " + name);
        }
        return a.getNodeValue();
    }

    private static String value(Node node) {
        if (node == null || node.getNodeValue() == null) {
            throw new IllegalStateException("missing metadata value");
        }
        return node.getNodeValue();
    }
}
