package io.github.magmajava.ipu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.backend.Split;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.quant.WeightFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The planner's bytes against counts made independently of its code: from the shapes of the
 * tensors in the tiny fixtures' checkpoints, and by hand for {@code magma_v1_1024} on the seed's
 * 4 x ipu-mk2.
 */
class PlannerTest {
    private static final IpuOptions SEED_FOUR_MK2 = new IpuOptions(4, DeviceSpec.IPU_MK2);
    private static final Pattern BLOCK_LN = Pattern.compile("lm\\.transformer\\.h\\.(\\d+)\\.ln_1\\.weight");

    static Stream<Arguments> layouts() {
        return Stream.of(
                        Stream.of(1, 2, 4).map(n -> Arguments.of("tiny_a", n)),
                        Stream.of(1, 2).map(n -> Arguments.of("tiny_b", n)),
                        Stream.of(1, 2, 4, 8).map(n -> Arguments.of("tiny_c", n)))
                .flatMap(s -> s)
                .flatMap(a -> Stream.of(WeightFormat.FP16, WeightFormat.Q8).map(w -> Arguments.of(a.get()[0], a.get()[1], w)));
    }

    // ---------------------------------------------------------------------------------------------
    // The independent count: per phase and device, from the checkpoint's shapes alone.
    // ---------------------------------------------------------------------------------------------

    /** Expected weight bytes per phase (in execution order) and device, counted from the checkpoint's tensors. */
    private static final class Count {
        private final Map<String, long[]> shapes;
        private final int n;
        private final boolean q8;
        /** Rows of one vocabulary shard: the LM head's rows (the padded vocabulary) over the devices, rounded up. */
        private final long vocabShard;
        final Map<String, long[]> phases = new LinkedHashMap<>();

        Count(Map<String, long[]> shapes, int n, boolean q8) {
            this.shapes = shapes;
            this.n = n;
            this.q8 = q8;
            this.vocabShard = ceilDiv(shape("lm.lm_head.weight")[0], n);
            int layers = (int) shapes.keySet().stream().map(BLOCK_LN::matcher).filter(Matcher::matches).count();
            phases.put("image prefix", imagePrefix());
            phases.put("embedding", perDevice(d -> vocabularyRows("lm.transformer.wte.weight", d, false)));
            for (int layer = 0; layer < layers; layer++) {
                int l = layer;
                phases.put("block " + layer, perDevice(d -> block(l, d)));
            }
            phases.put("lm head", perDevice(d -> floats("lm.transformer.ln_f.weight") + floats("lm.transformer.ln_f.bias")
                    + vocabularyRows("lm.lm_head.weight", d, true) + 4 * vocabularyRange("lm.lm_head.bias", d)));
        }

        private long[] shape(String name) {
            long[] s = shapes.get(name);
            assertThat(s).as("checkpoint tensor %s", name).isNotNull();
            return s;
        }

        private long[] perDevice(java.util.function.IntToLongFunction bytes) {
            long[] out = new long[n];
            for (int d = 0; d < n; d++) {
                out[d] = bytes.applyAsLong(d);
            }
            return out;
        }

        /** Device 0 only: folded convolutions (weight and a bias per output channel, float32), the projection, its bias and LayerNorm. */
        private long[] imagePrefix() {
            long bytes = 0;
            for (var e : shapes.entrySet()) {
                if (e.getKey().startsWith("image_prefix.enc.") && e.getValue().length == 4) {
                    bytes += (numel(e.getValue()) + e.getValue()[0]) * 4;
                }
            }
            bytes += numel(shape("image_prefix.proj.weight")) * 2;
            bytes += floats("image_prefix.proj.bias") + floats("image_prefix.ln.weight") + floats("image_prefix.ln.bias");
            long[] out = new long[n];
            out[0] = bytes;
            return out;
        }

        private long block(int layer, int d) {
            String p = "lm.transformer.h." + layer + ".";
            String a = p + "attn.attention.";
            long bytes = floats(p + "ln_1.weight") + floats(p + "ln_1.bias");
            for (String byRows : List.of(a + "q_proj", a + "k_proj", a + "v_proj", p + "mlp.0.c_fc", p + "mlp.1.adapter.0")) {
                long[] w = shape(byRows + ".weight");
                bytes += matrix(w[0] / n, 0, w[1], w[1], true);
                if (shapes.containsKey(byRows + ".bias")) {
                    bytes += 4 * (shape(byRows + ".bias")[0] / n); // the bias slice of its output rows
                }
            }
            for (String byCols : List.of(a + "out_proj", p + "mlp.0.c_proj", p + "mlp.1.adapter.2")) {
                long[] w = shape(byCols + ".weight");
                bytes += matrix(w[0], d * w[1] / n, (d + 1) * w[1] / n, w[1], true);
                if (d == 0 && shapes.containsKey(byCols + ".bias")) {
                    bytes += floats(byCols + ".bias"); // added once, by device 0
                }
            }
            return bytes;
        }

        /** Device d's rows [d * shard, (d + 1) * shard) of a vocabulary-split tensor, clipped to its rows. */
        private long vocabularyRange(String name, int d) {
            long rows = shape(name)[0];
            return Math.min(rows, (d + 1) * vocabShard) - Math.min(rows, d * vocabShard);
        }

        private long vocabularyRows(String name, int d, boolean quantizable) {
            long[] w = shape(name);
            return matrix(vocabularyRange(name, d), 0, w[1], w[1], quantizable);
        }

        /** A float32 vector, whole. */
        private long floats(String name) {
            return numel(shape(name)) * 4;
        }

        /**
         * {@code rows} x columns [c0, c1) of a matrix with {@code cols} columns: float16 as stored, or in
         * q8 int8 values plus a float16 scale per 32-column block when the range keeps whole blocks
         * (starts on a block, ends on a block or at the row's end), else float32.
         */
        private long matrix(long rows, long c0, long c1, long cols, boolean quantizable) {
            long width = c1 - c0;
            if (!(q8 && quantizable)) {
                return rows * width * 2;
            }
            boolean wholeBlocks = c0 % 32 == 0 && (c1 % 32 == 0 || c1 == cols);
            return wholeBlocks ? rows * width + rows * ceilDiv(width, 32) * 2 : rows * width * 4;
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    private static Map<String, long[]> shapes(TinyFixture f) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (TensorFile file = TensorFiles.open(f.checkpoint())) {
            for (Map.Entry<String, Tensor> e : file.tensors().entrySet()) {
                shapes.put(e.getKey(), e.getValue().shape().clone());
            }
        }
        return shapes;
    }

    @ParameterizedTest(name = "{0} on {1} devices, {2}")
    @MethodSource("layouts")
    void weightBytesMatchACountFromTheCheckpointsShapes(String fixture, int n, WeightFormat weights) throws IOException {
        TinyFixture f = new TinyFixture(fixture);
        Count expected = new Count(shapes(f), n, weights == WeightFormat.Q8);
        ExecutionPlan plan = Planner.plan(f.config(), new IpuOptions(n, DeviceSpec.HOST), weights, SequenceMode.KV_CACHE);

        assertThat(plan.phases()).extracting(PhasePlan::name).containsExactlyElementsOf(expected.phases.keySet());
        long perToken = 0;
        for (var e : expected.phases.entrySet()) {
            PhasePlan phase = plan.phase(e.getKey()).orElseThrow();
            assertThat(phase.perToken()).as(e.getKey()).isEqualTo(!e.getKey().equals("image prefix"));
            for (int d = 0; d < n; d++) {
                assertThat(phase.weightBytes(d)).as("%s, device %d", e.getKey(), d).isEqualTo(e.getValue()[d]);
                if (phase.perToken()) {
                    perToken += e.getValue()[d];
                }
            }
        }
        assertThat(plan.streamedBytesPerToken()).isEqualTo(perToken);
        assertThat(plan.fits()).isTrue();
    }

    @ParameterizedTest(name = "{0} on {1} devices, {2}")
    @MethodSource("layouts")
    void theSplitNeitherLosesNorDuplicatesAnything(String fixture, int n, WeightFormat weights) throws IOException {
        TinyFixture f = new TinyFixture(fixture);
        Map<String, long[]> shapes = shapes(f);
        ExecutionPlan plan = Planner.plan(f.config(), new IpuOptions(n, DeviceSpec.HOST), weights, SequenceMode.KV_CACHE);
        for (PhasePlan phase : plan.phases()) {
            Map<String, List<Shard>> byTensor = new LinkedHashMap<>();
            phase.shards().forEach(s -> byTensor.computeIfAbsent(s.tensor(), k -> new ArrayList<>()).add(s));
            for (var e : byTensor.entrySet()) {
                long[] shape = shapes.get(e.getKey());
                assertThat(shape).as("%s stages %s, which the checkpoint has", phase.name(), e.getKey()).isNotNull();
                List<Shard> parts = e.getValue();
                Split split = parts.get(0).split();
                if (split == Split.REPLICATED && !phase.name().equals("image prefix")) {
                    // LayerNorms: whole on every device
                    assertThat(parts).extracting(Shard::device).containsExactlyElementsOf(range(n));
                    assertThat(parts).allSatisfy(s -> assertThat(s.rows().length() * s.cols().length()).isEqualTo(numel(shape)));
                    continue;
                }
                // Every value exactly once: the devices' ranges tile the split dimension in order.
                long values = parts.stream().mapToLong(s -> s.rows().length() * s.cols().length()).sum();
                assertThat(values).as("%s in %s", e.getKey(), phase.name()).isEqualTo(numel(shape));
                boolean byColumns = split == Split.INPUT_ROWS && shape.length == 2;
                List<Range> ranges = parts.stream().sorted(Comparator.comparingInt(Shard::device))
                        .map(s -> byColumns ? s.cols() : s.rows()).toList();
                for (int i = 1; i < ranges.size(); i++) {
                    assertThat(ranges.get(i).start()).as("%s in %s", e.getKey(), phase.name()).isEqualTo(ranges.get(i - 1).end());
                }
            }
            if (phase.name().startsWith("block ") && weights == WeightFormat.FP16) {
                // float16 matrices: the devices' bytes add up to the block's matrices in the checkpoint
                String prefix = "lm.transformer.h." + phase.name().substring(6) + ".";
                long whole = shapes.entrySet().stream().filter(s -> s.getKey().startsWith(prefix) && s.getValue().length == 2
                        && s.getKey().endsWith(".weight")).mapToLong(s -> numel(s.getValue()) * 2).sum();
                long split = phase.shards().stream().filter(s -> s.format() == StagedFormat.FLOAT16).mapToLong(Shard::bytes).sum();
                assertThat(split).as(phase.name()).isEqualTo(whole).isPositive();
            }
        }
    }

    private static List<Integer> range(int n) {
        return java.util.stream.IntStream.range(0, n).boxed().toList();
    }

    // ---------------------------------------------------------------------------------------------
    // magma_v1_1024 on the seed's 4 x ipu-mk2, counted by hand from SPEC's shapes.
    // d = 4096, MLP 16384, adapter 4096 / 4 = 1024, 16 heads of 256, 28 blocks,
    // wte [50258, 4096], lm_head [50400, 4096], rows = 144 image tokens + 1024 text = 1168.
    // ---------------------------------------------------------------------------------------------

    private static ExecutionPlan seedPlan(WeightFormat weights, SequenceMode mode) {
        return Planner.plan(MagmaConfig.presetOrThrow("magma_v1_1024"), SEED_FOUR_MK2, weights, mode);
    }

    @Test
    void magmaV1_1024OnFourMk2ByHand() {
        ExecutionPlan plan = seedPlan(WeightFormat.FP16, SequenceMode.KV_CACHE);
        assertThat(plan.maxRows()).isEqualTo(144 + 1024);
        assertThat(plan.phases()).hasSize(1 + 1 + 28 + 1);

        PhasePlan block = plan.phase("block 0").orElseThrow();
        // float16 matrices, a quarter each:
        //   q, k, v      3 x 1024 x 4096 x 2 = 25,165,824  (4 heads of 256 = 1024 rows)
        //   out_proj         4096 x 1024 x 2 =  8,388,608  (its 1024 input columns)
        //   c_fc             4096 x 4096 x 2 = 33,554,432  (16384 / 4 rows)
        //   c_proj           4096 x 4096 x 2 = 33,554,432  (16384 / 4 columns)
        //   adapter.0         256 x 4096 x 2 =  2,097,152  (1024 / 4 rows)
        //   adapter.2        4096 x  256 x 2 =  2,097,152
        //                                      104,857,600
        // float32 vectors on every device: ln_1 2 x 4096 x 4 = 32,768, c_fc bias 4096 x 4 = 16,384,
        //   adapter.0 bias 256 x 4 = 1,024: 50,176
        // device 0 also adds the biases of the row-split layers: c_proj and adapter.2, 2 x 4096 x 4 = 32,768
        assertThat(block.weightBytes(0)).isEqualTo(104_857_600L + 50_176 + 32_768).isEqualTo(104_940_544L);
        assertThat(block.weightBytes(1)).isEqualTo(104_857_600L + 50_176).isEqualTo(104_907_776L);
        assertThat(block.weightBytes(2)).isEqualTo(104_907_776L);
        assertThat(block.weightBytes(3)).isEqualTo(104_907_776L);

        // Activations per device, float32, at rows = 1168, as GptjBlock uses Workspace:
        //   x and ln_1(x) (normed) whole                      2 x 4096
        //   the partial sums attention, mlp, adapterOut       3 x 4096
        //   query, key, value, context of its 4 heads         4 x 1024
        //   inner (its c_fc columns)                          16384 / 4 = 4096
        //   bottleneck (its adapter units)                    1024 / 4  =  256
        //   = 8192 + 12288 + 4096 + 4096 + 256 = 28,928 floats a row
        //   1168 x 28,928 x 4 = 135,151,616
        assertThat(block.activationBytes(0)).isEqualTo(1168L * (2 * 4096 + 3 * 4096 + 4 * 1024 + 4096 + 256) * 4)
                .isEqualTo(135_151_616L);
        // KV cache of its 4 heads: keys and values, 1168 positions x 1024 floats: 2 x 1168 x 1024 x 4
        assertThat(block.kvCacheBytes(0)).isEqualTo(9_568_256L);
        assertThat(block.totalBytes(0)).isEqualTo(104_940_544L + 135_151_616L + 9_568_256L).isEqualTo(249_660_416L);
        assertThat(block.allReduces()).isEqualTo(2);

        // Embedding: shards of ceil(50400 / 4) = 12600 rows; wte has 50258, so device 3 holds 50258 - 37800 = 12458.
        PhasePlan embedding = plan.phase("embedding").orElseThrow();
        for (int d = 0; d < 3; d++) {
            assertThat(embedding.weightBytes(d)).isEqualTo(12600L * 4096 * 2).isEqualTo(103_219_200L);
        }
        assertThat(embedding.weightBytes(3)).isEqualTo((50258L - 37800) * 4096 * 2).isEqualTo(102_055_936L);
        // its partial sum of the embeddings of up to 1024 text ids: 1024 x 4096 x 4
        assertThat(embedding.activationBytes(0)).isEqualTo(16_777_216L);

        // LM head: ln_f 2 x 4096 x 4 = 32,768, lm_head 12600 x 4096 x 2 = 103,219,200, its bias 12600 x 4 = 50,400;
        // lm_head has 50400 rows, so all four shards are whole.
        PhasePlan head = plan.phase("lm head").orElseThrow();
        for (int d = 0; d < 4; d++) {
            assertThat(head.weightBytes(d)).isEqualTo(32_768L + 103_219_200L + 50_400L).isEqualTo(103_302_368L);
        }
        // the last row, ln_f of it, its 12600 logits: (2 x 4096 + 12600) x 4
        assertThat(head.activationBytes(0)).isEqualTo(83_168L);

        // Image prefix, device 0 alone: RN50x16 has 127 convolutions, 136,008,720 weights and
        // 96,960 output channels, folded into float32 weights and biases: (136,008,720 + 96,960) x 4
        // = 544,422,720; proj 4096 x 3072 x 2 = 25,165,824; proj bias and ln 3 x 4096 x 4 = 49,152.
        PhasePlan prefix = plan.phase("image prefix").orElseThrow();
        assertThat(prefix.weightBytes(0)).isEqualTo(544_422_720L + 25_165_824L + 49_152L).isEqualTo(569_637_696L);
        assertThat(prefix.weightBytes(1)).isZero();
        assertThat(prefix.perToken()).isFalse();

        // Remote memory:
        //   weights as staged from: 28 blocks x (209,715,200 matrix values + 33,792 vector values) x 2 = 11,745,943,552
        //     + wte 50258 x 4096 x 2 = 411,713,536 + ln_f 2 x 4096 x 2 = 16,384
        //     + lm_head 50400 x 4096 x 2 = 412,876,800 + its bias 50400 x 2 = 100,800
        //     + folded convolutions 544,422,720 + proj 25,165,824 + proj bias and ln 3 x 4096 x 2 = 24,576
        //     = 13,140,264,192
        //   KV cache: 28 x 2 x 1168 x 4096 x 4 = 1,071,644,672
        //   between phases (residual stream, image embeddings, logits): (1168 x 4096 + 144 x 4096 + 50400) x 4 = 21,697,408
        assertThat(plan.remoteMemoryBytes()).isEqualTo(13_140_264_192L + 1_071_644_672L + 21_697_408L)
                .isEqualTo(14_233_606_272L);
        // Per token: embedding 3 x 103,219,200 + 102,055,936; 28 blocks x (104,940,544 + 3 x 104,907,776); LM head 4 x 103,302,368
        assertThat(plan.streamedBytesPerToken()).isEqualTo(3 * 103_219_200L + 102_055_936L
                + 28 * (104_940_544L + 3 * 104_907_776L) + 4 * 103_302_368L).isEqualTo(12_575_511_424L);
        assertThat(plan.allReducesPerToken()).isEqualTo(1 + 28 * 2);

        // The largest phase is the image prefix: 569,637,696 weights + 96,141,312 activations on device 0,
        // within the MK2's 1472 tiles x 624 KiB = 940,572,672 bytes.
        assertThat(plan.peakBytes(0)).isEqualTo(665_779_008L);
        assertThat(plan.peakBytes(1)).isEqualTo(249_627_648L);
        assertThat(DeviceSpec.IPU_MK2.memoryBytes()).isEqualTo(940_572_672L);
        assertThat(plan.fits()).isTrue();
        assertThat(plan.refusal()).isEmpty();
    }

    @Test
    void magmaV1_1024OnFourMk2InQ8AndStatic() {
        PhasePlan q8 = seedPlan(WeightFormat.Q8, SequenceMode.KV_CACHE).phase("block 0").orElseThrow();
        // int8 values plus a float16 scale per 32 columns; every quarter keeps whole blocks:
        //   q, k, v     3 x (1024 x 4096 + 1024 x 128 x 2) = 3 x 4,456,448 = 13,369,344
        //   out_proj        4096 x 1024 + 4096 x 32 x 2    =     4,456,448
        //   c_fc, c_proj 2 x (4096 x 4096 + 4096 x 128 x 2) = 2 x 17,825,792 = 35,651,584
        //   adapter.0        256 x 4096 + 256 x 128 x 2    =     1,114,112
        //   adapter.2       4096 x 256 + 4096 x 8 x 2      =     1,114,112
        //   = 55,705,600, plus the float32 vectors as in fp16
        assertThat(q8.weightBytes(0)).isEqualTo(55_705_600L + 50_176 + 32_768).isEqualTo(55_788_544L);
        assertThat(q8.weightBytes(3)).isEqualTo(55_705_600L + 50_176);

        // static: no cache; the keys and values of the 1168 positions run count as activations
        PhasePlan padded = seedPlan(WeightFormat.FP16, SequenceMode.STATIC).phase("block 0").orElseThrow();
        assertThat(padded.kvCacheBytes(0)).isZero();
        assertThat(padded.activationBytes(0)).isEqualTo(135_151_616L + 9_568_256L);
        assertThat(seedPlan(WeightFormat.FP16, SequenceMode.STATIC).remoteMemoryBytes())
                .isEqualTo(13_140_264_192L + 21_697_408L);
    }

    @Test
    void magmaV1_1024OnOneMk2() {
        ExecutionPlan plan = Planner.plan(MagmaConfig.MAGMA_V1_1024, new IpuOptions(1, DeviceSpec.IPU_MK2), WeightFormat.FP16,
                SequenceMode.KV_CACHE);
        PhasePlan block = plan.phase("block 0").orElseThrow();
        // 209,715,200 x 2 = 419,430,400 of matrices + 33,792 x 4 = 135,168 of vectors
        assertThat(block.weightBytes(0)).isEqualTo(419_565_568L);
        // 1168 x (5 x 4096 + 4 x 4096 + 16384 + 1024) x 4
        assertThat(block.activationBytes(0)).isEqualTo(253_558_784L);
        assertThat(block.kvCacheBytes(0)).isEqualTo(2L * 1168 * 4096 * 4);
        assertThat(plan.peakBytes(0)).isEqualTo(419_565_568L + 253_558_784L + 38_273_024L).isEqualTo(711_397_376L);
        assertThat(plan.fits()).isTrue();
    }

    // ---------------------------------------------------------------------------------------------
    // Refusals and errors.
    // ---------------------------------------------------------------------------------------------

    @Test
    void aDeviceSmallerThanTheLargestPhaseIsRefusedNamingIt() {
        MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
        IpuOptions justEnough = new IpuOptions(4, DeviceSpec.IPU_MK2.withMemory(665_779_008L));
        assertThat(Planner.plan(config, justEnough, WeightFormat.FP16, SequenceMode.KV_CACHE).fits()).isTrue();

        IpuOptions short1 = new IpuOptions(4, DeviceSpec.IPU_MK2.withMemory(665_779_007L));
        ExecutionPlan plan = Planner.plan(config, short1, WeightFormat.FP16, SequenceMode.KV_CACHE);
        assertThat(plan.fits()).isFalse();
        assertThat(plan.refusal()).hasValueSatisfying(r -> assertThat(r)
                .startsWith("phase 'image prefix' needs 665779008 bytes (634.9 MiB) on device 0, the ipu-mk2 has 665779007 (634.9 MiB;")
                .contains("weights 543.2 MiB, activations 91.7 MiB, KV cache 0 B)")
                .doesNotContain("\n"));
        assertThat(plan.table()).contains("does not fit: phase 'image prefix'");

        // One device: the image prefix (665,779,008) and embedding fit 700 MB; block 0 (711,397,376) does not.
        IpuOptions one = new IpuOptions(1, DeviceSpec.IPU_MK2.withMemory(DeviceSpec.parseSize("700MB")));
        assertThat(Planner.plan(config, one, WeightFormat.FP16, SequenceMode.KV_CACHE).refusal())
                .hasValueSatisfying(r -> assertThat(r).startsWith(
                        "phase 'block 0' needs 711397376 bytes (678.4 MiB) on device 0, the ipu-mk2 has 700000000 (667.6 MiB;"));
    }

    @Test
    void badDeviceCountsAndNamesAreClearErrors() throws IOException {
        assertThatThrownBy(() -> new IpuOptions(0, DeviceSpec.IPU_MK2))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("devices must be >= 1, found 0");
        TinyFixture tinyA = new TinyFixture("tiny_a");
        MagmaConfig a = tinyA.config();
        assertThatThrownBy(() -> Planner.plan(a, new IpuOptions(3, DeviceSpec.HOST), WeightFormat.FP16, SequenceMode.KV_CACHE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("3 devices do not divide the 4 attention heads of config 'tiny_a': use 1, 2, 4");
        assertThatThrownBy(() -> Planner.plan(MagmaConfig.MAGMA_V1_1024, new IpuOptions(32, DeviceSpec.IPU_MK2), WeightFormat.FP16,
                        SequenceMode.KV_CACHE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("32 devices do not divide the 16 attention heads of config 'magma_v1_1024': use 1, 2, 4, 8, 16");
        assertThatThrownBy(() -> DeviceSpec.named("gpu"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown device 'gpu', expected one of ipu-mk2, bow, host");
        assertThat(DeviceSpec.named("ipu-mk2")).isEqualTo(DeviceSpec.IPU_MK2);
        assertThat(DeviceSpec.named("host").unlimited()).isTrue();
    }

    @Test
    void sizesParse() {
        assertThat(DeviceSpec.parseSize("900MB")).isEqualTo(900_000_000L);
        assertThat(DeviceSpec.parseSize("512MiB")).isEqualTo(512L << 20);
        assertThat(DeviceSpec.parseSize("1.5GiB")).isEqualTo(3L << 29);
        assertThat(DeviceSpec.parseSize("123")).isEqualTo(123L);
        assertThat(DeviceSpec.parseSize("64 KiB")).isEqualTo(65_536L);
        assertThat(DeviceSpec.parseSize("2g")).isEqualTo(2L << 30);
        for (String bad : List.of("", "MB", "-1MB", "1e9", "12 apples", "0", "0.1B")) {
            assertThatThrownBy(() -> DeviceSpec.parseSize(bad)).as("'%s'", bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> DeviceSpec.parseSize("9999999TB")).hasMessageContaining("must be from 1 byte");
        assertThatThrownBy(() -> DeviceSpec.parseSize("1.5")).hasMessage("size '1.5' is not a whole number of bytes");
        assertThat(DeviceSpec.parseSize("1.5KB")).isEqualTo(1500L);
    }

    @Test
    void oneDeviceExchangesNothingAndEachRefusalSaysWhatWouldHelp() {
        MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
        ExecutionPlan one = Planner.plan(config, new IpuOptions(1, DeviceSpec.HOST), WeightFormat.FP16, SequenceMode.KV_CACHE);
        assertThat(one.allReducesPerToken()).isZero();
        // q8 shrinks only Linear weights, and the image prefix runs on device 0 alone
        for (PhasePlan p : Planner.plan(config, IpuOptions.SEED, WeightFormat.FP16, SequenceMode.KV_CACHE).phases()) {
            String advice = ExecutionPlan.advice(p);
            switch (p.name()) {
                case "image prefix" -> assertThat(advice).isEqualTo("the image prefix runs on device 0 alone, give it a larger --device-memory");
                case "embedding" -> assertThat(advice).isEqualTo("use more devices or a larger --device-memory");
                default -> assertThat(advice).as(p.name()).isEqualTo("use more devices, --weights q8 or a larger --device-memory");
            }
        }
    }

    @Test
    void jsonHasThePlansFigures() throws IOException {
        ExecutionPlan plan = seedPlan(WeightFormat.FP16, SequenceMode.KV_CACHE);
        JsonNode json = new ObjectMapper().readTree(plan.toJson());
        assertThat(json.get("devices").asInt()).isEqualTo(4);
        assertThat(json.get("deviceMemoryBytes").asLong()).isEqualTo(940_572_672L);
        assertThat(json.get("fits").asBoolean()).isTrue();
        assertThat(json.has("refusal")).isFalse();
        assertThat(json.get("remoteMemoryBytes").asLong()).isEqualTo(14_233_606_272L);
        assertThat(json.get("streamedBytesPerToken").asLong()).isEqualTo(12_575_511_424L);
        JsonNode phases = json.get("phases");
        assertThat(phases.size()).isEqualTo(31);
        for (int i = 0; i < phases.size(); i++) {
            JsonNode p = phases.get(i);
            PhasePlan planned = plan.phases().get(i);
            assertThat(p.get("name").asText()).isEqualTo(planned.name());
            long weights = 0;
            long total = 0;
            for (int d = 0; d < 4; d++) {
                weights = Math.max(weights, planned.weightBytes(d));
                total = Math.max(total, planned.totalBytes(d));
            }
            assertThat(p.get("weightBytesPerDevice").asLong()).isEqualTo(weights);
            assertThat(p.get("totalBytesPerDevice").asLong()).isEqualTo(total);
            assertThat(p.get("activationBytesPerDevice").asLong()).isEqualTo(planned.activationBytes(0));
            assertThat(p.get("kvCacheBytesPerDevice").asLong()).isEqualTo(planned.kvCacheBytes(0));
        }
        JsonNode block = phases.get(2);
        assertThat(block.get("name").asText()).isEqualTo("block 0");
        assertThat(block.get("weightBytesPerDevice").asLong()).isEqualTo(104_940_544L);
        assertThat(block.get("activationBytesPerDevice").asLong()).isEqualTo(135_151_616L);
        assertThat(block.get("kvCacheBytesPerDevice").asLong()).isEqualTo(9_568_256L);
        assertThat(block.get("totalBytesPerDevice").asLong()).isEqualTo(249_660_416L);

        IpuOptions tight = new IpuOptions(4, DeviceSpec.IPU_MK2.withMemory(100_000_000L));
        JsonNode refused = new ObjectMapper().readTree(
                Planner.plan(MagmaConfig.MAGMA_V1_1024, tight, WeightFormat.FP16, SequenceMode.KV_CACHE).toJson());
        assertThat(refused.get("fits").asBoolean()).isFalse();
        assertThat(refused.get("refusal").asText()).startsWith("phase 'image prefix' needs 665779008 bytes");
        JsonNode host = new ObjectMapper().readTree(Planner.plan(MagmaConfig.MAGMA_V1_1024, new IpuOptions(4, DeviceSpec.HOST),
                WeightFormat.FP16, SequenceMode.KV_CACHE).toJson());
        assertThat(host.get("deviceMemoryBytes").isNull()).isTrue();
    }

    @Test
    void theEmbeddingReservesTheTextPositionsItCanRun() {
        // A text budget beyond the context: kv-cache mode runs at most maxPositions - imageTokens text positions.
        MagmaConfig c = MagmaConfig.MAGMA_V1_1024;
        TransformerConfig t = c.transformer();
        MagmaConfig long4096 = new MagmaConfig("long", c.visual(), new TransformerConfig(t.layers(), t.hiddenSize(), t.heads(),
                t.rotaryDim(), t.rotaryBase(), t.vocabSize(), t.realVocabSize(), t.maxPositions(), 4096), c.adapter());
        ExecutionPlan plan = Planner.plan(long4096, SEED_FOUR_MK2, WeightFormat.FP16, SequenceMode.KV_CACHE);
        assertThat(plan.maxRows()).isEqualTo(2048);
        // 2048 - 144 = 1904 ids x 4096 x 4
        assertThat(plan.phase("embedding").orElseThrow().activationBytes(0)).isEqualTo(1904L * 4096 * 4);
    }
}
