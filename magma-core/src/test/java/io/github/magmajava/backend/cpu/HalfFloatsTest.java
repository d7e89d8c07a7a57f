package io.github.magmajava.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("vector-width")
class HalfFloatsTest {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * The kernels take the hardware's width, within the JVM's limit: the narrow-vector test runs
     * (pom.xml, executions vectors-256 and vectors-128) set that limit and say so here, so a run
     * that silently kept 512-bit vectors fails instead of testing nothing new.
     */
    @Test
    void vectorShapeFollowsTheJvmLimit() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertThat(HalfFloats.F.vectorBitSize()).isEqualTo(Math.clamp(preferred, 128, 512));
        assertThat(HalfFloats.LANES * 32).isEqualTo(HalfFloats.F.vectorBitSize());
        assertThat(HalfFloats.S.vectorBitSize()).isEqualTo(HalfFloats.LANES * 16);
        String limit = System.getProperty("magma.test.maxVectorBits");
        if (limit != null) {
            assertThat(HalfFloats.F.vectorBitSize()).isLessThanOrEqualTo(Integer.parseInt(limit));
        }
    }

    /** Every one of the 65536 bit patterns, a vector at a time, against the JDK's scalar conversion. */
    @Test
    void float16WideningIsExactForEveryBitPattern() {
        MemorySegment all = MemorySegment.ofArray(new byte[65536 * 2]);
        for (int i = 0; i < 65536; i++) {
            all.setAtIndex(LE, i, (short) i);
        }
        float[] lanes = new float[HalfFloats.LANES];
        for (int i = 0; i < 65536; i += HalfFloats.LANES) {
            HalfFloats.float16(all, i * 2L).intoArray(lanes, 0);
            for (int j = 0; j < lanes.length; j++) {
                float expected = Float.float16ToFloat((short) (i + j));
                if (Float.isNaN(expected)) {
                    assertThat(lanes[j]).as("bits %04x", i + j).isNaN();
                } else {
                    assertThat(Float.floatToRawIntBits(lanes[j])).as("bits %04x", i + j)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    @Test
    void bfloat16WideningIsTheHighHalfOfAFloat() {
        MemorySegment all = MemorySegment.ofArray(new byte[65536 * 2]);
        for (int i = 0; i < 65536; i++) {
            all.setAtIndex(LE, i, (short) i);
        }
        float[] lanes = new float[HalfFloats.LANES];
        for (int i = 0; i < 65536; i += HalfFloats.LANES) {
            HalfFloats.bfloat16(all, i * 2L).intoArray(lanes, 0);
            for (int j = 0; j < lanes.length; j++) {
                assertThat(Float.floatToRawIntBits(lanes[j])).isEqualTo((i + j) << 16);
            }
        }
    }

    /** The lane sum follows its documented pairing exactly, whatever the values (order matters in float). */
    @Test
    void laneSumsPairLanesInTheDocumentedOrder() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] v = new float[HalfFloats.LANES];
        for (int round = 0; round < 10_000; round++) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-8, 9)));
            }
            float[] s = v.clone();
            int lanes = HalfFloats.LANES;
            for (int half = lanes / 2; half >= 2; half /= 2) {
                float[] next = new float[lanes];
                for (int i = 0; i < lanes; i++) {
                    next[i] = s[i] + s[(i + half) % lanes];
                }
                s = next;
            }
            float expected = s[0] + s[1];
            float actual = HalfFloats.sum(FloatVector.fromArray(HalfFloats.F, v, 0));
            assertThat(Float.floatToRawIntBits(actual)).as("round %d", round).isEqualTo(Float.floatToRawIntBits(expected));
        }
    }

    /** The decode widening: bits times 2^112 equal the value for every finite pattern; inf and NaN are flagged. */
    @Test
    void float16BitsTimesTwoPow112IsExactForEveryFinitePattern() {
        MemorySegment all = MemorySegment.ofArray(new byte[65536 * 2]);
        for (int i = 0; i < 65536; i++) {
            all.setAtIndex(LE, i, (short) i);
        }
        int[] lanes = new int[HalfFloats.LANES];
        int special = 0;
        for (int i = 0; i < 65536; i += HalfFloats.LANES) {
            HalfFloats.float16Bits(all, i * 2L).intoArray(lanes, 0);
            for (int j = 0; j < lanes.length; j++) {
                float expected = Float.float16ToFloat((short) (i + j));
                boolean flagged = HalfFloats.anyInfOrNan(all, (i + j) * 2L, 1);
                assertThat(flagged).as("bits %04x", i + j).isEqualTo(!Float.isFinite(expected));
                if (flagged) {
                    special++;
                } else {
                    assertThat(Float.floatToRawIntBits(Float.intBitsToFloat(lanes[j]) * 0x1p112f)).as("bits %04x", i + j)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
        assertThat(special).isEqualTo(2 * 1024);
        assertThat(HalfFloats.anyInfOrNan(all, 0, 0x7c00)).isFalse();
        assertThat(HalfFloats.anyInfOrNan(all, 0, 0x7c01)).isTrue();
    }

    @Test
    void activationsTooLargeToScaleAreRefused() {
        float[] x = new float[40];
        java.util.Arrays.fill(x, 3f);
        assertThat(HalfFloats.scaledForFloat16(x, 0, 40)).isNotNull();
        x[33] = -65535.9f;
        assertThat(HalfFloats.scaledForFloat16(x, 0, 40)).isNotNull();
        x[33] = 65536f;
        assertThat(HalfFloats.scaledForFloat16(x, 0, 40)).isNull();
        assertThat(HalfFloats.scaledForFloat16(x, 0, 33)).isNotNull();
        x[3] = Float.NaN;
        assertThat(HalfFloats.scaledForFloat16(x, 0, 33)).isNull();
        x[3] = Float.NEGATIVE_INFINITY;
        assertThat(HalfFloats.scaledForFloat16(x, 0, 33)).isNull();
        x[3] = 1;
        x[5] = -1e20f;
        assertThat(HalfFloats.scaledForFloat16(x, 0, 33)).isNull();
    }
}
