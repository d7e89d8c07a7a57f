package io.github.magmajava.image;

/**
 * The Pillow image modes a decoded file can have. MAGMA's pipeline resizes in the file's own mode
 * and converts to RGB only after the crop, so the mode decides the arithmetic: "1" and "P" resize
 * with nearest neighbour, "LA" and "RGBA" premultiplied by alpha, "I" in 32-bit integers, the rest
 * per 8-bit channel.
 */
enum PillowMode {
    /** Bilevel, stored as 0 or 255 (1-bit greyscale PNG, two-colour black/white BMP). */
    BILEVEL("1", 1),
    L("L", 1),
    LA("LA", 2),
    /** Palette indices; {@link PillowImage#palette()} holds the colours. */
    P("P", 1),
    /** 32-bit signed integers (16-bit greyscale PNG). */
    I("I", 1),
    RGB("RGB", 3),
    RGBA("RGBA", 4),
    CMYK("CMYK", 4);

    private final String pillowName;
    private final int bands;

    PillowMode(String pillowName, int bands) {
        this.pillowName = pillowName;
        this.bands = bands;
    }

    /** The mode's name as Pillow's {@code Image.mode} spells it. */
    String pillowName() {
        return pillowName;
    }

    /** Samples per pixel. */
    int bands() {
        return bands;
    }
}
