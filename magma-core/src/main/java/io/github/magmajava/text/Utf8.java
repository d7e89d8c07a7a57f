package io.github.magmajava.text;

/**
 * UTF-8 decoding that replaces every maximal ill-formed subpart with one U+FFFD, as Rust's
 * {@code String::from_utf8_lossy} (Hugging Face's byte-level decoder), Python's
 * {@code errors="replace"} and the WHATWG decoder do. {@code new String(bytes, UTF_8)} does
 * not: it turns an encoded surrogate such as {@code ED A0 80} into one U+FFFD instead of three.
 */
final class Utf8 {
    private static final char REPLACEMENT = '\uFFFD';

    private Utf8() {
    }

    /** Decodes {@code bytes[0, length)}; an incomplete sequence at the end becomes U+FFFD too. */
    static void decode(byte[] bytes, int length, StringBuilder out) {
        int i = 0;
        while (i < length) {
            int lead = bytes[i] & 0xFF;
            if (lead < 0x80) {
                out.append((char) lead);
                i++;
                continue;
            }
            int needed = continuationCount(lead);
            if (needed == 0) {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int codePoint = lead & (0x3F >> needed);
            int j = i + 1;
            int seen = 0;
            while (seen < needed && j < length && isContinuation(lead, seen, bytes[j] & 0xFF)) {
                codePoint = codePoint << 6 | bytes[j] & 0x3F;
                j++;
                seen++;
            }
            if (seen == needed) {
                out.appendCodePoint(codePoint);
            } else {
                out.append(REPLACEMENT);
            }
            i = j;
        }
    }

    /**
     * Where a sequence that the next bytes could still complete starts at the end of
     * {@code bytes[0, length)}, else {@code length}. Everything before that index decodes the
     * same whatever follows, which is what lets a stream emit it.
     */
    static int completePrefixLength(byte[] bytes, int length) {
        for (int start = length - 1; start >= Math.max(0, length - 3); start--) {
            int b = bytes[start] & 0xFF;
            if (b < 0x80) {
                return length;
            }
            if (b >= 0xC0) {
                int needed = continuationCount(b);
                int present = length - start - 1;
                if (needed == 0 || present >= needed) {
                    return length;
                }
                for (int k = 0; k < present; k++) {
                    if (!isContinuation(b, k, bytes[start + 1 + k] & 0xFF)) {
                        return length;
                    }
                }
                return start;
            }
        }
        return length;
    }

    /** Continuation bytes a lead byte announces; 0 for bytes that never start a sequence. */
    private static int continuationCount(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) {
            return 1;
        }
        if (lead >= 0xE0 && lead <= 0xEF) {
            return 2;
        }
        if (lead >= 0xF0 && lead <= 0xF4) {
            return 3;
        }
        return 0;
    }

    /**
     * Whether {@code b} may follow {@code lead} as continuation number {@code index}. The
     * second byte's narrower ranges rule out overlongs, surrogates and code points past U+10FFFF.
     */
    private static boolean isContinuation(int lead, int index, int b) {
        int low = 0x80;
        int high = 0xBF;
        if (index == 0) {
            switch (lead) {
                case 0xE0 -> low = 0xA0;
                case 0xED -> high = 0x9F;
                case 0xF0 -> low = 0x90;
                case 0xF4 -> high = 0x8F;
                default -> { }
            }
        }
        return b >= low && b <= high;
    }
}
