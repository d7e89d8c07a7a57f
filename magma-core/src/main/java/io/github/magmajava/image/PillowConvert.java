package io.github.magmajava.image;

/**
 * The few Pillow mode conversions (libImaging Convert.c) MAGMA's pipeline runs: to and from
 * premultiplied alpha around a resize, and {@code convert("RGB")} from every mode. All integer
 * arithmetic, reproduced to the bit. Samples are row-major, interleaved.
 */
final class PillowConvert {
    private PillowConvert() {
    }

    /** Pillow's MULDIV255: a * b / 255 rounded, with its shift trick. */
    static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /** RGBA to "RGBa" or LA to "La": every colour sample times alpha / 255 (alpha is the last band). */
    static byte[] premultiply(byte[] samples, int bands) {
        byte[] out = samples.clone();
        for (int p = 0; p < out.length; p += bands) {
            int alpha = out[p + bands - 1] & 0xFF;
            for (int b = 0; b < bands - 1; b++) {
                out[p + b] = (byte) mulDiv255(out[p + b] & 0xFF, alpha);
            }
        }
        return out;
    }

    /** "RGBa" to RGBA or "La" to LA, in place: colour * 255 / alpha truncated, alpha 0 and 255 as is. */
    static void unpremultiply(byte[] samples, int bands) {
        for (int p = 0; p < samples.length; p += bands) {
            int alpha = samples[p + bands - 1] & 0xFF;
            if (alpha == 0 || alpha == 255) {
                continue;
            }
            for (int b = 0; b < bands - 1; b++) {
                samples[p + b] = (byte) Math.min(255, 255 * (samples[p + b] & 0xFF) / alpha);
            }
        }
    }

    /** {@code image.convert("RGB")}: interleaved RGB bytes. Transparency is dropped, never composited. */
    static byte[] toRgb(PillowImage image) {
        int pixels = image.width() * image.height();
        byte[] rgb = new byte[pixels * 3];
        byte[] in = image.bytes();
        switch (image.mode()) {
            case L, BILEVEL -> {
                // Mode "1" holds 0 or 255 already, so both replicate the sample.
                for (int p = 0; p < pixels; p++) {
                    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = in[p];
                }
            }
            case LA -> {
                for (int p = 0; p < pixels; p++) {
                    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = in[2 * p];
                }
            }
            case P -> {
                byte[] palette = image.palette();
                for (int p = 0; p < pixels; p++) {
                    int entry = 3 * (in[p] & 0xFF);
                    rgb[3 * p] = palette[entry];
                    rgb[3 * p + 1] = palette[entry + 1];
                    rgb[3 * p + 2] = palette[entry + 2];
                }
            }
            case I -> {
                int[] values = image.ints();
                for (int p = 0; p < pixels; p++) {
                    byte v = (byte) Math.clamp(values[p], 0, 255);
                    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = v;
                }
            }
            case RGB -> System.arraycopy(in, 0, rgb, 0, rgb.length);
            case RGBA -> {
                for (int p = 0; p < pixels; p++) {
                    rgb[3 * p] = in[4 * p];
                    rgb[3 * p + 1] = in[4 * p + 1];
                    rgb[3 * p + 2] = in[4 * p + 2];
                }
            }
            case CMYK -> {
                // cmyk2rgb: no colour management, each channel (255 - k) * (1 - c / 255).
                for (int p = 0; p < pixels; p++) {
                    int notK = 255 - (in[4 * p + 3] & 0xFF);
                    for (int b = 0; b < 3; b++) {
                        int v = notK - mulDiv255(in[4 * p + b] & 0xFF, notK);
                        rgb[3 * p + b] = (byte) Math.clamp(v, 0, 255);
                    }
                }
            }
        }
        return rgb;
    }
}
