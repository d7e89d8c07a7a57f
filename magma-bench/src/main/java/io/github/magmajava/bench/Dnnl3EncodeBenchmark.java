package io.github.magmajava.bench;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.clip.ImagePrefix;
import io.github.magmajava.clip.onednn.Bf16Encoder;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.weights.ImagePrefixWeights;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The image prefix (RN50x16, projection; {@code [3, 384, 384] -> [144, 4096]}) with random fp16
 * weights, today's path against oneDNN 3.13 in bf16 in one run: {@code nd4j-fp32} is
 * {@link ImagePrefix#encode} on the CPU backend (oneDNN 2.3 through nd4j, fp32, weights reordered
 * per call); {@code onednn3-bf16} is {@link Bf16Encoder} (weights reordered once at load, bf16
 * NHWC activations, fused bias/ReLU/residual) plus the same LayerNorm.
 */
@State(Scope.Benchmark)
public class Dnnl3EncodeBenchmark extends BenchmarkSettings {
    @Param({"nd4j-fp32", "onednn3-bf16"})
    public String variant;

    @Param({"2"})
    public int threads;

    private RandomWeights weights;
    private CpuBackend backend;
    private ImagePrefix prefix;
    private Bf16Encoder encoder;
    private ImagePrefixWeights prefixWeights;
    private float[] image;
    private float[] lnWeight;
    private float[] lnBias;

    @Setup
    public void setUp() {
        MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
        weights = new RandomWeights(6);
        backend = CpuBackend.withThreads(threads, OneDnnMode.FP32);
        prefixWeights = weights.imagePrefix(config);
        if (variant.equals("nd4j-fp32")) {
            prefix = ImagePrefix.load(prefixWeights, config, backend);
        } else {
            encoder = Bf16Encoder.create(prefixWeights.encoder(), config.visual(), prefixWeights.projWeight(),
                    prefixWeights.projBias(), threads).orElseThrow(() -> new IllegalStateException("oneDNN 3 does not load"));
            System.out.println("oneDNN 3 implementations: " + encoder.implementations());
        }
        lnWeight = prefixWeights.lnWeight().toFloatArray();
        lnBias = prefixWeights.lnBias().toFloatArray();
        int s = config.visual().imageResolution();
        image = weights.activations(3 * s * s);
    }

    @TearDown
    public void tearDown() {
        if (encoder != null) {
            encoder.close();
        }
        backend.close();
        weights.close();
    }

    @Benchmark
    public float[] encode() {
        if (prefix != null) {
            return prefix.encode(image);
        }
        float[] tokens = encoder.encode(image);
        backend.layerNorm(tokens, encoder.tokens(), encoder.dim(), lnWeight, lnBias, ImagePrefix.LAYER_NORM_EPS, tokens);
        return tokens;
    }
}
