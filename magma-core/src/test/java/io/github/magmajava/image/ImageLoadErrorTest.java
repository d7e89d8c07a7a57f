package io.github.magmajava.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad input is refused with an {@link ImageLoadException} naming the source, never an OOM or a silent partial image. */
@Timeout(30)
class ImageLoadErrorTest {
    private final ClipPreprocessor clip = ClipPreprocessor.of(32);

    /**
     * Truncations Pillow 9.4 refuses too ("image file is truncated", "broken data stream", or
     * unidentified): inside the header, inside the pixel data, and for JPEG even a missing EOI.
     */
    @ParameterizedTest(name = "{0} cut to {1} bytes")
    @CsvSource({
            "rgb_97x61.png, 8", "rgb_97x61.png, 20", "rgb_97x61.png, 40", "rgb_97x61.png, 100",
            "rgb_97x61.png, 2957", "rgb_97x61.png, 5915", "rgb_97x61.png, 8873",
            "p_77x50.png, 446", "p_77x50.png, 1339",
            "jpeg_rgb_83x64.jpg, 3", "jpeg_rgb_83x64.jpg, 8", "jpeg_rgb_83x64.jpg, 40", "jpeg_rgb_83x64.jpg, 100",
            "jpeg_rgb_83x64.jpg, 728", "jpeg_rgb_83x64.jpg, 1457", "jpeg_rgb_83x64.jpg, 2185",
            "jpeg_rgb_83x64.jpg, 2894", "jpeg_rgb_83x64.jpg, 2912", "jpeg_rgb_83x64.jpg, 2913",
            "jpeg_cmyk_60x45.jpg, 2363", "jpeg_cmyk_60x45.jpg, 4724",
            "gif_anim_55x40.gif, 20", "gif_anim_55x40.gif, 852", "gif_anim_55x40.gif, 1704",
            "bmp_rgb_47x39.bmp, 20", "bmp_rgb_47x39.bmp, 100", "bmp_rgb_47x39.bmp, 2835", "bmp_rgb_47x39.bmp, 5650",
    })
    void truncatedFilesAreRefused(String name, int length) {
        byte[] whole = ImageFixtures.bytes(ImageFixtures.source(name));
        byte[] cut = Arrays.copyOf(whole, length);
        String source = name + "[0:" + length + "]";

        assertThatThrownBy(() -> clip.resizeAndCrop(cut, source))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageStartingWith(source + ": ")
                .satisfies(e -> assertThat(((ImageLoadException) e).source()).isEqualTo(source));
    }

    /**
     * Damage after the first image's pixel data that Pillow tolerates is tolerated too: the end of
     * a PNG's last IDAT (the zlib checksum) and its IEND, a GIF's second frame, a BMP's last row padding.
     */
    @ParameterizedTest(name = "{0} without its last {1} bytes")
    @CsvSource({"rgb_97x61.png, 20", "rgb_97x61.png, 1", "gif_anim_55x40.gif, 852", "bmp_rgb_47x39.bmp, 2"})
    void truncationsPillowToleratesAreTolerated(String name, int missing) throws Exception {
        byte[] whole = ImageFixtures.bytes(ImageFixtures.source(name));
        byte[] cut = Arrays.copyOf(whole, whole.length - missing);

        assertThat(clip.resizeAndCrop(cut, name)).isEqualTo(clip.resizeAndCrop(whole, name));
    }

    @Test
    void garbageIsRefusedAsUnknownFormat() {
        byte[] garbage = new byte[1000];
        new Random(42).nextBytes(garbage);
        garbage[0] = 0x12;

        assertThatThrownBy(() -> clip.preprocess(garbage, "garbage.bin"))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageStartingWith("garbage.bin: not a PNG, JPEG, GIF or BMP image");
    }

    @Test
    void garbageAfterAValidSignatureIsRefused() {
        for (byte[] magic : new byte[][] {
                {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF},
                {'G', 'I', 'F', '8', '9', 'a'}, {'B', 'M'}}) {
            byte[] data = new byte[2000];
            new Random(7).nextBytes(data);
            System.arraycopy(magic, 0, data, 0, magic.length);

            assertThatThrownBy(() -> clip.resizeAndCrop(data, "noise"))
                    .isInstanceOf(ImageLoadException.class)
                    .hasMessageStartingWith("noise: ");
        }
    }

    /** Random byte damage and cuts to every fixture: an image or an ImageLoadException, nothing else. */
    @Test
    void corruptedFilesGiveAnImageOrAnImageLoadException() throws Exception {
        List<Path> sources = ImageFixtures.cases().stream().map(c -> ImageFixtures.source(c.source())).distinct().toList();
        Random random = new Random(2024);
        int refused = 0;
        for (int i = 0; i < 400; i++) {
            byte[] data = ImageFixtures.bytes(sources.get(random.nextInt(sources.size())));
            for (int k = random.nextInt(8); k >= 0; k--) {
                data[random.nextInt(data.length)] = (byte) random.nextInt(256);
            }
            if (random.nextInt(4) == 0) {
                data = Arrays.copyOf(data, random.nextInt(data.length));
            }
            try {
                assertThat(clip.resizeAndCrop(data, "mutant " + i).width()).isEqualTo(32);
            } catch (ImageLoadException e) {
                assertThat(e).hasMessageStartingWith("mutant " + i + ": ");
                refused++;
            }
        }
        assertThat(refused).isPositive();
    }

    @Test
    void emptyInputIsRefused(@TempDir Path dir) throws Exception {
        Path empty = Files.createFile(dir.resolve("empty.png"));

        assertThatThrownBy(() -> clip.preprocess(empty))
                .isInstanceOf(ImageLoadException.class)
                .hasMessage(empty + ": empty file, not an image");
        assertThatThrownBy(() -> clip.preprocess(new byte[0], "nothing"))
                .isInstanceOf(ImageLoadException.class)
                .hasMessage("nothing: empty file, not an image");
    }

    @Test
    void missingFileAndDirectoryAreRefused(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-image.jpg");

        assertThatThrownBy(() -> clip.preprocess(missing))
                .isInstanceOf(ImageLoadException.class)
                .hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> clip.resizeAndCrop(dir))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageContaining("is a directory");
    }

    @Test
    void zeroSizeImageIsRefused() {
        Path zero = ImageFixtures.path("bad/zero_width.png");

        assertThatThrownBy(() -> clip.preprocess(zero))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageStartingWith(zero + ": ")
                .hasMessageContaining("width <= 0");
    }

    /** The header claims 100000 x 100000 RGB pixels (30 GB); the file holds a few hundred bytes. */
    @Test
    @Timeout(10)
    void decompressionBombIsRefusedFromTheHeader() {
        Path bomb = ImageFixtures.path("bad/bomb_100000x100000.png");

        assertThatThrownBy(() -> clip.preprocess(bomb))
                .isInstanceOf(ImageLoadException.class)
                .hasMessage(bomb + ": image of 100000x100000 = 10000000000 pixels exceeds the limit of 89478485"
                        + " pixels (decompression bomb?)");
    }

    @Test
    void pixelLimitIsConfigurable() throws Exception {
        Path image = ImageFixtures.source("rgb_97x61.png");  // 5917 pixels

        assertThatThrownBy(() -> clip.withPixelLimit(5916).preprocess(image))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageContaining("97x61 = 5917 pixels exceeds the limit of 5916 pixels");
        assertThat(clip.withPixelLimit(5917).preprocess(image).size()).isEqualTo(32);
        assertThat(clip.withPixelLimit(5917).pixelLimit()).isEqualTo(5917);
        assertThat(clip.pixelLimit()).isEqualTo(ClipPreprocessor.DEFAULT_PIXEL_LIMIT);
    }

    @Test
    void pixelLimitAppliesToEveryFormat() {
        for (String name : new String[] {"jpeg_rgb_83x64.jpg", "gif_anim_55x40.gif", "bmp_rgb_47x39.bmp", "p_77x50.png"}) {
            Path image = ImageFixtures.source(name);

            assertThatThrownBy(() -> clip.withPixelLimit(1000).preprocess(image))
                    .as(name)
                    .isInstanceOf(ImageLoadException.class)
                    .hasMessageContaining("exceeds the limit of 1000 pixels");
        }
    }

    @Test
    void extremeAspectRatioIsRefusedBeforeResizing() {
        // 1 x 5000 resizes to 32 x 160000 = 5.1 M pixels, above a limit of 1 M.
        byte[] rgb = new byte[5000 * 3];
        PillowImage tall = PillowImage.of8bit(PillowMode.RGB, 1, 5000, rgb);

        assertThatThrownBy(() -> clip.withPixelLimit(1_000_000).resizeAndCrop(tall, "tall.png"))
                .isInstanceOf(ImageLoadException.class)
                .hasMessageContaining("tall.png: aspect ratio too extreme: 1x5000 resizes to 32x160000");
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertThatThrownBy(() -> ClipPreprocessor.of(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size");
        assertThatThrownBy(() -> clip.withPixelLimit(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pixel limit");
    }

    /**
     * BMP bit fields Pillow refuses (a 32-bit-wide field, an empty one, 10-10-10) decode here
     * without an arithmetic fault: a field is widened to 8 bits by its own width, an empty one is 0.
     */
    @Test
    void unusualBitFieldsDecodeWithoutFaults() throws Exception {
        int[][] layouts = {{0xFFFFFFFF, 0, 0}, {0x3FF00000, 0x000FFC00, 0x000003FF}, {0xFF0000, 0, 0xFF}};
        for (int[] masks : layouts) {
            ByteBuffer bmp = ByteBuffer.allocate(14 + 40 + 12 + 16).order(ByteOrder.LITTLE_ENDIAN);
            bmp.put((byte) 'B').put((byte) 'M').putInt(bmp.capacity()).putInt(0).putInt(14 + 40 + 12);
            bmp.putInt(40).putInt(2).putInt(2).putShort((short) 1).putShort((short) 32).putInt(3).putInt(16)
                    .putInt(2835).putInt(2835).putInt(0).putInt(0);
            bmp.putInt(masks[0]).putInt(masks[1]).putInt(masks[2]);
            bmp.putInt(0xFFFFFFFF).putInt(0x80000000).putInt(0x12345678).putInt(0);
            String name = String.format("masks_%08x_%08x_%08x.bmp", masks[0], masks[1], masks[2]);
            float[] values = new float[3 * 32 * 32];
            clip.preprocess(bmp.array(), name).copyTo(values, 0);
            for (float v : values) {
                assertThat(v).as(name).isFinite();
            }
        }
    }

    /** Pillow reads no embedded JPEG or PNG in a BMP; ImageIO would allocate the size such a header claims. */
    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void bmpsWithAnEmbeddedJpegOrPngAreRefusedBeforeTheirDataIsRead(int compression) {
        ByteBuffer bmp = ByteBuffer.allocate(14 + 40 + 8).order(ByteOrder.LITTLE_ENDIAN);
        bmp.put((byte) 'B').put((byte) 'M').putInt(0x3dfe0166).putInt(0).putInt(14 + 40);
        bmp.putInt(40).putInt(320).putInt(39).putShort((short) 1).putShort((short) 0).putInt(compression)
                .putInt(0x5e5e0001).putInt(0).putInt(0).putInt(0).putInt(0);
        assertThatThrownBy(() -> clip.preprocess(bmp.array(), "embedded.bmp")).isInstanceOf(ImageLoadException.class)
                .hasMessage("embedded.bmp: unsupported BMP compression (" + compression
                        + "); uncompressed, RLE and bit-field BMPs are read");
    }
}
