package io.github.magmajava.bench;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.config.MagmaConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * MAGMA's whole image prefix on one preprocessed 384 x 384 image: CLIP RN50x16 without its
 * attention pool, the 3072 -> 4096 projection and the LayerNorm, with random fp16 weights at the
 * real shapes ({@code [3, 384, 384] -> [144, 4096]}). One call takes seconds, so every
 * iteration is at least one call.
 */
@State(Scope.Benchmark)
public class ImageEncodeBenchmark extends BenchmarkSettings {
    @Param({"1", "2"})
    public int threads;

    private RandomWeights weights;
    private CpuBackend backend;
    private ImagePrefix prefix;
    private float[] image;

    @Setup
    public void setUp() {
        MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
        weights = new RandomWeights(6);
        backend = CpuBackend.withThreads(threads);
        prefix = ImagePrefix.load(weights.imagePrefix(config), config, backend);
        int s = config.visual().imageResolution();
        image = weights.activations(3 * s * s);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        weights.close();
    }

    @Benchmark
    public float[] encode() {
        return prefix.encode(image);
    }
}
