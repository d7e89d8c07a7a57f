package io.github.magmajava.image;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * MAGMA's image preprocessing, {@code clip_preprocess(384)}, as its Python stack (torchvision on
 * Pillow 9/10) computes it from an image file:
 * <ol>
 * <li>decode as {@code PIL.Image.open} does, keeping the file's mode (greyscale, palette, alpha...);
 * <li>{@code Resize(size, BICUBIC)}: the short side becomes {@code size}, the long side
 *     {@code int(size * long / short)}, with Pillow's resampling in that mode ({@link PillowResampler});
 * <li>{@code CenterCrop(size)}: top {@code round((H - size) / 2)}, left likewise, halves to even;
 * <li>{@code convert("RGB")}, {@code ToTensor()} (/255) and {@code Normalize(mean, std)}.
 * </ol>
 * The uint8 image after step 3 matches Pillow bit for bit for lossless sources; JPEG decoding may
 * differ by a level or two from libjpeg-turbo (see docs/preprocessing.md). Immutable and
 * thread-safe.
 */
public final class ClipPreprocessor {
    /** The input size of MAGMA's CLIP RN50x16 image encoder. */
    public static final int MAGMA_SIZE = 384;
    /** Pillow's {@code Image.MAX_IMAGE_PIXELS}; images with more pixels are refused as likely bombs. */
    public static final long DEFAULT_PIXEL_LIMIT = 89_478_485L;

    private static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    private static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private final int size;
    private final long pixelLimit;

    private ClipPreprocessor(int size, long pixelLimit) {
        this.size = size;
        this.pixelLimit = pixelLimit;
    }

    /** A preprocessor producing {@code size} x {@code size} images, with the default pixel limit. */
    public static ClipPreprocessor of(int size) {
        if (size <= 0 || size > 1 << 14) {
            throw new IllegalArgumentException("size must be in 1..16384, got " + size);
        }
        return new ClipPreprocessor(size, DEFAULT_PIXEL_LIMIT);
    }

    /**
     * The same preprocessor, refusing images with more than {@code maxPixels} pixels (width x
     * height, read from the header before decoding). The limit also bounds the resized image.
     */
    public ClipPreprocessor withPixelLimit(long maxPixels) {
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("the pixel limit must be positive, got " + maxPixels);
        }
        return new ClipPreprocessor(size, maxPixels);
    }

    public int size() {
        return size;
    }

    public long pixelLimit() {
        return pixelLimit;
    }

    /** The normalized CHW tensor of the image file. */
    public PreprocessedImage preprocess(Path file) throws ImageLoadException {
        return normalize(resizeAndCrop(file));
    }

    /** The normalized CHW tensor of an encoded image; {@code sourceName} names it in errors. */
    public PreprocessedImage preprocess(byte[] encoded, String sourceName) throws ImageLoadException {
        return normalize(resizeAndCrop(encoded, sourceName));
    }

    /** The uint8 RGB image after resize, center crop and {@code convert("RGB")}. */
    public RgbImage resizeAndCrop(Path file) throws ImageLoadException {
        Objects.requireNonNull(file, "file");
        String source = file.toString();
        if (!Files.exists(file)) {
            throw new ImageLoadException(source, "no such file");
        }
        if (Files.isDirectory(file)) {
            throw new ImageLoadException(source, "is a directory, not an image file");
        }
        try (ImageInputStream in = open(file)) {
            return resizeAndCrop(ImageDecoder.decode(in, source, pixelLimit), source);
        } catch (ImageLoadException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageLoadException(source, "cannot read: " + e.getMessage(), e);
        }
    }

    /** The uint8 RGB image after resize, center crop and {@code convert("RGB")} of an encoded image. */
    public RgbImage resizeAndCrop(byte[] encoded, String sourceName) throws ImageLoadException {
        Objects.requireNonNull(encoded, "encoded");
        String source = Objects.requireNonNull(sourceName, "sourceName");
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            return resizeAndCrop(ImageDecoder.decode(in, source, pixelLimit), source);
        } catch (ImageLoadException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageLoadException(source, "cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * ToTensor and Normalize: {@code (v / 255 - mean[c]) / std[c]} in float32, CHW.
     *
     * @throws IllegalArgumentException unless the image is {@code size} x {@code size}
     */
    public PreprocessedImage normalize(RgbImage image) {
        if (image.width() != size || image.height() != size) {
            throw new IllegalArgumentException("expected a " + size + "x" + size + " image, got "
                    + image.width() + "x" + image.height());
        }
        byte[] rgb = image.bytes();
        int plane = size * size;
        float[] chw = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                chw[c * plane + p] = ((rgb[3 * p + c] & 0xFF) / 255f - MEAN[c]) / STD[c];
            }
        }
        return new PreprocessedImage(size, chw);
    }

    private static ImageInputStream open(Path file) throws IOException {
        if (file.getFileSystem() == FileSystems.getDefault()) {
            return new FileImageInputStream(file.toFile());
        }
        return new MemoryCacheImageInputStream(Files.newInputStream(file));
    }

    /** Steps 2 and 3 and the RGB conversion, in Pillow's order: resize in the image's mode, crop, convert. */
    RgbImage resizeAndCrop(PillowImage image, String source) throws ImageLoadException {
        int width = image.width();
        int height = image.height();
        // torchvision _compute_resized_output_size: int() of a double quotient.
        long shortSide = Math.min(width, height);
        long longSide = Math.max(width, height);
        long newLong = (long) ((double) (size * longSide) / shortSide);
        int newWidth = width <= height ? size : (int) Math.min(newLong, Integer.MAX_VALUE);
        int newHeight = width <= height ? (int) Math.min(newLong, Integer.MAX_VALUE) : size;
        if (newLong > Integer.MAX_VALUE / 4 || (long) newWidth * newHeight > Math.max(pixelLimit, (long) size * size)) {
            throw new ImageLoadException(source, "aspect ratio too extreme: " + width + "x" + height
                    + " resizes to " + newWidth + "x" + newHeight + ", more than the limit of " + pixelLimit + " pixels");
        }
        int top = (int) Math.rint((newHeight - size) / 2.0);
        int left = (int) Math.rint((newWidth - size) / 2.0);
        try {
            PillowImage resized = resize(image, newWidth, newHeight);
            return RgbImage.wrap(size, size, PillowConvert.toRgb(crop(resized, left, top, size)));
        } catch (OutOfMemoryError e) {
            throw new ImageLoadException(source, "not enough memory to resize " + width + "x" + height + " to "
                    + newWidth + "x" + newHeight + " (raise -Xmx or lower the pixel limit)", e);
        }
    }

    /** Pillow's Image.resize(size, BICUBIC) in the image's own mode. */
    static PillowImage resize(PillowImage image, int width, int height) {
        int w = image.width();
        int h = image.height();
        int bands = image.mode().bands();
        return switch (image.mode()) {
            // Pillow forces NEAREST for "1" and "P".
            case BILEVEL -> PillowImage.of8bit(image.mode(), width, height,
                    PillowResampler.nearest(image.bytes(), w, h, 1, width, height));
            case P -> PillowImage.ofPalette(width, height,
                    PillowResampler.nearest(image.bytes(), w, h, 1, width, height), image.palette());
            case I -> PillowImage.ofInt(width, height, PillowResampler.bicubic(image.ints(), w, h, width, height));
            case L, RGB, CMYK -> PillowImage.of8bit(image.mode(), width, height,
                    PillowResampler.bicubic(image.bytes(), w, h, bands, width, height));
            case LA, RGBA -> {
                if (width == w && height == h) {
                    yield image;  // Pillow returns a copy before converting to premultiplied alpha
                }
                byte[] resized = PillowResampler.bicubic(PillowConvert.premultiply(image.bytes(), bands),
                        w, h, bands, width, height);
                PillowConvert.unpremultiply(resized, bands);
                yield PillowImage.of8bit(image.mode(), width, height, resized);
            }
        };
    }

    /** Image.crop of a square at (left, top), inside the image. */
    static PillowImage crop(PillowImage image, int left, int top, int side) {
        int bands = image.mode().bands();
        int w = image.width();
        if (image.mode() == PillowMode.I) {
            int[] out = new int[side * side];
            for (int y = 0; y < side; y++) {
                System.arraycopy(image.ints(), (top + y) * w + left, out, y * side, side);
            }
            return PillowImage.ofInt(side, side, out);
        }
        byte[] out = new byte[side * side * bands];
        for (int y = 0; y < side; y++) {
            System.arraycopy(image.bytes(), ((top + y) * w + left) * bands, out, y * side * bands, side * bands);
        }
        return image.mode() == PillowMode.P ? PillowImage.ofPalette(side, side, out, image.palette())
                : PillowImage.of8bit(image.mode(), side, side, out);
    }
}
