package io.github.magmajava.ipu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.Generation;
import io.github.magmajava.ImageSession;
import io.github.magmajava.Magma;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.quant.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The IPU backend end to end on the tiny fixtures: every device count the heads allow, both
 * sequence modes, fp16 against PyTorch and q8 against the CPU backend's q8.
 */
class IpuBackendTest {
    private static final int STEPS = 8;
    /** MagmaTest's bound for the CPU backend: logits within 1e-3 of their largest magnitude. */
    private static final double LOGIT_TOLERANCE = 1e-3;

    @TempDir
    static Path cache;

    static Stream<Arguments> layouts() {
        return Stream.of(
                        Stream.of(1, 2, 4).map(n -> List.of("tiny_a", n)),
                        Stream.of(1, 2).map(n -> List.of("tiny_b", n)),
                        Stream.of(1, 2, 4, 8).map(n -> List.of("tiny_c", n)))
                .flatMap(s -> s)
                .flatMap(l -> Stream.of(SequenceMode.values()).map(m -> Arguments.of(l.get(0), l.get(1), m)));
    }

    private static Magma load(TinyFixture f, int devices, SequenceMode mode, WeightFormat weights) throws IOException {
        return f.builder().weights(weights).cacheDirectory(cache).sequenceMode(mode)
                .backend(IpuBackend.factory(new IpuOptions(devices, DeviceSpec.HOST))).load();
    }

    @ParameterizedTest(name = "{0} on {1} devices, {2}")
    @MethodSource("layouts")
    void fp16MatchesPyTorch(String fixture, int devices, SequenceMode mode) throws IOException {
        TinyFixture f = new TinyFixture(fixture);
        try (Magma magma = load(f, devices, mode, WeightFormat.FP16)) {
            Generation g = f.greedy(magma, STEPS);
            assertThat(g.tokens()).containsExactly(f.greedyTokens());
            int vocab = magma.config().transformer().vocabSize();
            for (int s = 0; s < STEPS; s++) {
                float[] expected = f.greedyLogits(s, vocab);
                float[] actual = g.tensors().orElseThrow().logits().get(s);
                assertThat(TinyFixture.maxAbsDiff(actual, expected)).as("step %d", s)
                        .isLessThanOrEqualTo(LOGIT_TOLERANCE * TinyFixture.maxAbs(expected));
            }
        }
    }

    @ParameterizedTest(name = "{0} on {1} devices, {2}")
    @MethodSource("layouts")
    void q8MatchesTheCpuBackendsQ8(String fixture, int devices, SequenceMode mode) throws IOException {
        TinyFixture f = new TinyFixture(fixture);
        Generation cpu;
        try (Magma magma = f.builder().weights(WeightFormat.Q8).cacheDirectory(cache).load()) {
            cpu = f.greedy(magma, STEPS);
        }
        try (Magma magma = load(f, devices, mode, WeightFormat.Q8)) {
            Generation ipu = f.greedy(magma, STEPS);
            assertThat(ipu.tokens()).containsExactly(cpu.tokens());
            for (int s = 0; s < STEPS; s++) {
                float[] expected = cpu.tensors().orElseThrow().logits().get(s);
                // Same int8 values and scales; only the order of the sums differs (per device,
                // and float32 copies of shards whose columns cut a 32-value block).
                assertThat(TinyFixture.maxAbsDiff(ipu.tensors().orElseThrow().logits().get(s), expected)).as("step %d", s)
                        .isLessThanOrEqualTo(1e-4 * TinyFixture.maxAbs(expected));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(SequenceMode.class)
    void runsAreBitIdenticalAcrossRunsAndThreadCounts(SequenceMode mode) throws IOException {
        TinyFixture f = new TinyFixture("tiny_c");
        List<float[]> reference = null;
        for (int threads : new int[] {1, 2, 1, 3}) {
            try (Magma magma = f.builder().threads(threads).sequenceMode(mode)
                    .backend(IpuBackend.factory(new IpuOptions(4, DeviceSpec.HOST))).load()) {
                List<float[]> logits = f.greedy(magma, STEPS).tensors().orElseThrow().logits();
                if (reference == null) {
                    reference = logits;
                } else {
                    for (int s = 0; s < STEPS; s++) {
                        assertThat(logits.get(s)).as("threads %d, step %d", threads, s).containsExactly(reference.get(s));
                    }
                }
            }
        }
    }

    @Test
    void imageSessionsOnDevicesGiveGeneratesAnswers() throws IOException {
        TinyFixture f = new TinyFixture("tiny_c");
        try (Magma magma = load(f, 4, SequenceMode.KV_CACHE, WeightFormat.FP16);
                ImageSession session = magma.session(f.image(magma))) {
            for (String prompt : List.of("A photo of a dog in", "Describe the painting:", "A picture of")) {
                io.github.magmajava.sampling.SamplingOptions options =
                        io.github.magmajava.sampling.SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(6);
                assertThat(session.ask(prompt, options).tokens()).as(prompt).containsExactly(magma.generate(
                        new io.github.magmajava.GenerationRequest(f.image(magma), prompt, options, false),
                        io.github.magmajava.TokenListener.NONE).tokens());
            }
        }
    }

    @Test
    void eachTokenStagesThePlansBytesAndAllReduces() throws IOException {
        TinyFixture f = new TinyFixture("tiny_a");
        ExecutionPlan plan = Planner.plan(f.config(), new IpuOptions(4, DeviceSpec.HOST), WeightFormat.FP16, SequenceMode.KV_CACHE);
        try (IpuBackend backend = IpuBackend.create(plan, null, 0);
                Magma magma = f.builder().backend(backend).load()) {
            f.greedy(magma, 3);
            Statistics.Snapshot stats = backend.statistics();
            // image prefix once; embedding, blocks and LM head for the prompt and each of 2 decode steps
            assertThat(stats.phases().get(0).runs()).isEqualTo(1);
            assertThat(stats.phases().stream().skip(1)).allSatisfy(p -> assertThat(p.runs()).isEqualTo(3));
            long prefix = plan.phase("image prefix").orElseThrow().stagedBytes();
            assertThat(stats.stagedBytes()).isEqualTo(prefix + 3 * plan.streamedBytesPerToken());
            assertThat(stats.allReduces()).isEqualTo(3L * plan.allReducesPerToken());
            assertThat(plan.allReducesPerToken()).isEqualTo(1 + 2 * 2);
        }
    }

    @Test
    void aPhaseThatOverflowsItsDeviceFailsAtRunTime() throws IOException {
        TinyFixture f = new TinyFixture("tiny_a");
        ExecutionPlan plan = Planner.plan(f.config(), new IpuOptions(2, DeviceSpec.HOST), WeightFormat.FP16, SequenceMode.KV_CACHE);
        PhasePlan largest = plan.phases().stream().max(java.util.Comparator.comparingLong(p -> p.totalBytes(1))).orElseThrow();
        long[] sizes = {plan.peakBytes(0), largest.totalBytes(1) - 1};
        try (IpuBackend backend = IpuBackend.withoutPlanCheck(plan, null, sizes);
                Magma magma = f.builder().backend(backend).load()) {
            assertThatThrownBy(() -> f.greedy(magma, 2))
                    .isInstanceOf(DeviceMemoryException.class)
                    .hasMessageStartingWith("phase '" + largest.name() + "' needs " + largest.totalBytes(1) + " bytes")
                    .hasMessageContaining("on device 1")
                    .hasMessageContaining("the device has " + sizes[1]);
        }
    }

    @Test
    void aPlanThatDoesNotFitIsRefusedBeforeAnyCompute() throws IOException {
        TinyFixture f = new TinyFixture("tiny_a");
        IpuOptions tight = new IpuOptions(2, DeviceSpec.IPU_MK2.withMemory(100_000));
        assertThatThrownBy(() -> f.builder().backend(IpuBackend.factory(tight)).load())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageMatching("phase '[a-z ]+' needs \\d+ bytes .* on device \\d, the ipu-mk2 has 100000 .*");
    }

    @Test
    void devicesThatDoNotDivideTheHeadsAreRefused() throws IOException {
        TinyFixture f = new TinyFixture("tiny_a");
        assertThatThrownBy(() -> f.builder().backend(IpuBackend.factory(new IpuOptions(3, DeviceSpec.HOST))).load())
                .hasMessage("3 devices do not divide the 4 attention heads of config 'tiny_a': use 1, 2, 4");
    }
}
