package io.github.magmajava.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector shape every kernel uses, and widening of IEEE float16 and bfloat16 to float32
 * {@link #LANES} at a time, with bit operations (the Vector API has no half-precision
 * conversion). float16: the 15 magnitude bits shifted into a float's exponent and mantissa and
 * scaled by 2^112 give normals and subnormals exactly; an all-ones exponent (inf, NaN) is patched
 * to float's all-ones exponent.
 *
 * <p>The shape is the hardware's ({@link FloatVector#SPECIES_PREFERRED}: 512 bits with AVX-512,
 * 256 with AVX2 or 256-bit SVE, 128 with NEON or SSE), kept between 128 and 512 bits: a species
 * C2 cannot map onto registers falls back to Java code about 80x slower, and int8 blocks of 32
 * ({@link WeightMatrix.Q8}) must hold a whole number of vectors. {@code -XX:UseAVX=2} or
 * {@code -XX:MaxVectorSize=16} narrow it, which is how the tests cover narrower machines.
 * Results are bit-identical cold or compiled on one machine; machines of other widths sum in
 * another order (last-bit differences).
 */
final class HalfFloats {
    static final VectorSpecies<Float> F = floatSpecies(FloatVector.SPECIES_PREFERRED.vectorBitSize());
    /** As many ints as {@link #F} has floats: the same shape. */
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    static final int LANES = F.length();
    /** As many shorts as {@link #F} has floats: half the shape, widened by one conversion. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16));

    private static final float TWO_POW_112 = 0x1p112f;
    private static final VectorSpecies<Short> WIDE = F.withLanes(short.class);
    private static final short EXPONENT = 0x7c00;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ThreadLocal<float[]> SCALED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> SCALED_ROWS = ThreadLocal.withInitial(() -> new float[0]);
    /**
     * Lane i to lane i + 8, i + 4, i + 2 (mod LANES): the fixed pairing of {@link #sum}; a step
     * the shape is too narrow for is null (and never used: LANES is a constant to the JIT).
     */
    private static final VectorShuffle<Float> BY_8 = LANES > 8 ? VectorShuffle.iota(F, 8, 1, true) : null;
    private static final VectorShuffle<Float> BY_4 = LANES > 4 ? VectorShuffle.iota(F, 4, 1, true) : null;
    private static final VectorShuffle<Float> BY_2 = VectorShuffle.iota(F, 2, 1, true);

    /** The float species of {@code bits} clamped to [128, 512]. */
    static VectorSpecies<Float> floatSpecies(int bits) {
        return VectorSpecies.of(float.class, VectorShape.forBitSize(Math.clamp(bits, 128, 512)));
    }

    private HalfFloats() {
    }

    /** {@link #LANES} float16 values at byte offset {@code offset} of a little-endian segment. */
    static FloatVector float16(MemorySegment segment, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, segment, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = h.and(0x7fff);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        FloatVector value = magnitude.lanewise(VectorOperators.LSHL, 13)
                .reinterpretAsFloats().mul(TWO_POW_112);
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = value.reinterpretAsInts();
        if (special.anyTrue()) {
            IntVector infNan = magnitude.lanewise(VectorOperators.LSHL, 13).or(0x7f800000);
            bits = bits.blend(infNan, special);
        }
        return bits.or(sign).reinterpretAsFloats();
    }

    /**
     * {@link #LANES} float16 values at byte offset {@code offset}, moved into float position: sign in
     * bit 31, exponent and mantissa in bits 27..13. Read as a float that is the value times
     * 2^-112, exactly, for every finite float16 (normals and subnormals alike); inf and NaN come
     * out finite, so callers rule them out first ({@link #anyInfOrNan}).
     */
    static IntVector float16Bits(MemorySegment segment, long offset) {
        // S2I sign-extends: bit 15 lands in bit 31 after the shift; bits 30..28 are masked off.
        return ((IntVector) ShortVector.fromMemorySegment(S, segment, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000);
    }

    /** Whether any of {@code count} float16 values from byte offset {@code offset} is inf or NaN. */
    static boolean anyInfOrNan(MemorySegment segment, long offset, long count) {
        long i = 0;
        for (long bound = count - WIDE.length(); i <= bound; i += WIDE.length()) {
            ShortVector h = ShortVector.fromMemorySegment(WIDE, segment, offset + 2 * i, ByteOrder.LITTLE_ENDIAN);
            if (h.and(EXPONENT).compare(VectorOperators.EQ, EXPONENT).anyTrue()) {
                return true;
            }
        }
        for (; i < count; i++) {
            if ((segment.get(LE_SHORT, offset + 2 * i) & EXPONENT) == EXPONENT) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code x[offset .. offset+n)} times 2^112 in a per-thread buffer, the activations for
     * {@link #float16Bits} weights; null when a value is too large to scale (|x| >= 2^16 would
     * overflow) or not finite, and the caller takes the exact path instead.
     */
    static float[] scaledForFloat16(float[] x, int offset, int n) {
        float[] scaled = SCALED.get();
        if (scaled.length < n) {
            scaled = new float[n];
            SCALED.set(scaled);
        }
        FloatVector tooLarge = FloatVector.zero(F);
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, offset + i);
            tooLarge = tooLarge.max(v.abs());
            v.mul(TWO_POW_112).intoArray(scaled, i);
        }
        float max = tooLarge.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, Math.abs(x[offset + i]));
            scaled[i] = x[offset + i] * TWO_POW_112;
        }
        // Vector max propagates NaN: NaN and infinity, like overflow, leave the scaled path.
        return max < 0x1p16f ? scaled : null;
    }

    /**
     * {@link #scaledForFloat16} of each of the {@code rows} rows of x [rows, n], side by side in
     * one per-thread buffer; a row that cannot be scaled starts with NaN (the caller takes the
     * exact path for it, as it would for that row alone).
     */
    static float[] scaledRowsForFloat16(float[] x, int rows, int n) {
        float[] scaled = SCALED_ROWS.get();
        if (scaled.length < rows * n) {
            scaled = new float[rows * n];
            SCALED_ROWS.set(scaled);
        }
        for (int r = 0; r < rows; r++) {
            float[] row = scaledForFloat16(x, r * n, n);
            if (row == null) {
                scaled[r * n] = Float.NaN;
            } else {
                System.arraycopy(row, 0, scaled, r * n, n);
            }
        }
        return scaled;
    }

    /**
     * The sum of a vector's lanes in a fixed order: pairwise, lane i with lane i + 8 (16 lanes
     * only), then i + 4 (8 or more), then i + 2, then lanes 0 and 1. {@code reduceLanes(ADD)} on floats leaves the order open,
     * and the JIT's intrinsic and the interpreter's fallback do differ in the last bits: that would
     * make results (and sampled tokens) depend on warm-up. Shuffles and lanewise adds are exact
     * per lane, so this order holds in every mode, without the array a lane-by-lane loop needs.
     */
    static float sum(FloatVector v) {
        FloatVector s = v;
        if (LANES > 8) {
            s = s.add(s.rearrange(BY_8));
        }
        if (LANES > 4) {
            s = s.add(s.rearrange(BY_4));
        }
        s = s.add(s.rearrange(BY_2));
        return s.lane(0) + s.lane(1);
    }

    /** {@link #LANES} bfloat16 values at byte offset {@code offset} of a little-endian segment. */
    static FloatVector bfloat16(MemorySegment segment, long offset) {
        return ((IntVector) ShortVector.fromMemorySegment(S, segment, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
