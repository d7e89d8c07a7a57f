package io.github.magmajava.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {
    private static String decode(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        Utf8.decode(bytes, bytes.length, out);
        return out.toString();
    }

    @Test
    void decodesEveryScalarValue() {
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                continue;
            }
            // Plain checks: AssertJ on 1.1 million code points would dominate the test's time.
            String s = Character.toString(cp);
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            if (!decode(bytes).equals(s)) {
                throw new AssertionError(String.format("U+%04X decodes to %s", cp, decode(bytes)));
            }
            // Every proper prefix is an unfinished sequence that a stream must hold back whole.
            for (int cut = 1; cut < bytes.length; cut++) {
                if (Utf8.completePrefixLength(bytes, cut) != 0) {
                    throw new AssertionError(String.format("U+%04X cut after %d bytes is not held back", cp, cut));
                }
            }
            if (Utf8.completePrefixLength(bytes, bytes.length) != bytes.length) {
                throw new AssertionError(String.format("U+%04X complete but held back", cp));
            }
        }
    }

    @Test
    void replacesEachMaximalIllFormedSubpart() {
        assertThat(decode(bytes(0xED, 0xA0, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD");
        assertThat(decode(bytes(0xF0, 0x9F, 0x98, 0x41))).isEqualTo("\uFFFDA");
        assertThat(decode(bytes(0xC0, 0x80))).isEqualTo("\uFFFD\uFFFD");
        assertThat(decode(bytes(0xF4, 0x90, 0x80, 0x80))).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
        assertThat(decode(bytes(0xE1, 0x80))).isEqualTo("\uFFFD");
    }

    @Test
    void holdsBackOnlyWhatCouldStillBecomeACharacter() {
        assertThat(Utf8.completePrefixLength(bytes(0x41, 0xF0, 0x9F), 3)).isEqualTo(1);
        assertThat(Utf8.completePrefixLength(bytes(0x41, 0xED, 0xA0), 3)).isEqualTo(3);
        assertThat(Utf8.completePrefixLength(bytes(0x80, 0x80, 0x80), 3)).isEqualTo(3);
        assertThat(Utf8.completePrefixLength(bytes(0xF5), 1)).isEqualTo(1);
        assertThat(Utf8.completePrefixLength(bytes(), 0)).isZero();
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }
}
