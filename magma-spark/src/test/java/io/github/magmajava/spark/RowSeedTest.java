package io.github.magmajava.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RowSeedTest {
    @Test
    void fixedValuesSoThatAnswersStayTheSameAcrossReleases() {
        // Changing RowSeed changes every sampled answer users have stored: these values are a contract,
        // computed independently (FNV-1a 64 of the UTF-8 key, SplitMix64's finalizer) in Python.
        assertThat(RowSeed.of(0, "")).isEqualTo(RowSeed.of(0, new byte[0]));
        assertThat(RowSeed.of(0, "a.jpg")).isEqualTo(0xc60fc542170f7ad6L);
        assertThat(RowSeed.of(42, "/photos/é.png")).isEqualTo(0x37f3c0b08bc0ea1dL);
    }

    @Test
    void differentKeysAndSeedsGiveDifferentSeeds() {
        Set<Long> seen = new HashSet<>();
        for (int seed = 0; seed < 50; seed++) {
            for (int i = 0; i < 200; i++) {
                seen.add(RowSeed.of(seed, "img" + i + ".jpg"));
            }
        }
        assertThat(seen).hasSize(50 * 200);
    }
}
