package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The register tile follows the machine's register count; both tiles are covered by the vector-width runs. */
@Tag("vector-width")
class GemmTileTest {
    @Test
    void sixteenRegisterMachinesGetTwoRowTiles() {
        assertThat(Gemm.tileRows(null, "amd64", 16)).as("AVX-512").isEqualTo(4);
        assertThat(Gemm.tileRows(null, "amd64", 8)).as("AVX2").isEqualTo(2);
        assertThat(Gemm.tileRows(null, "amd64", 4)).as("SSE").isEqualTo(2);
        assertThat(Gemm.tileRows(null, "aarch64", 4)).as("NEON").isEqualTo(4);
        assertThat(Gemm.tileRows(null, "aarch64", 8)).as("256-bit SVE").isEqualTo(4);
        assertThat(Gemm.tileRows(" 2", "aarch64", 4)).as("override").isEqualTo(2);
    }

    @Test
    void theOverrideIsTwoOrFour() {
        assertThatThrownBy(() -> Gemm.tileRows("3", "amd64", 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("-Dmagma.gemm.tileRows must be 2 or 4, found 3");
    }

    @Test
    void thisJvmUsesTheTileOfItsWidth() {
        assertThat(Gemm.TILE_ROWS).isEqualTo(Gemm.tileRows(System.getProperty("magma.gemm.tileRows"),
                System.getProperty("os.arch"), HalfFloats.LANES));
    }
}
