package io.github.magmajava.bench;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;
import io.github.magmajava.gptj.GptjModel;

/**
 * A MAGMA language model cut down to one block (with its adapter) and a 16-token vocabulary, so
 * that a forward call times one decoder block: ln_f and an LM head of 16 rows add well under
 * 0.1 %. Every other dimension is the given config's (magma_v1_1024 in the benchmarks).
 */
final class OneBlockModel implements AutoCloseable {
    /** The prompt of the stage benchmarks: 144 image tokens and 16 text tokens. */
    static final int PROMPT = 160;

    final GptjModel model;
    final int width;
    private final RandomWeights weights;
    private final CpuBackend backend;

    OneBlockModel(MagmaConfig full, int threads) {
        TransformerConfig t = full.transformer();
        MagmaConfig config = new MagmaConfig(full.name() + "_one_block", full.visual(),
                new TransformerConfig(1, t.hiddenSize(), t.heads(), t.rotaryDim(), t.rotaryBase(), 16, 16, t.maxPositions(),
                        t.sequenceLength()),
                full.adapter());
        this.weights = new RandomWeights(7);
        this.backend = CpuBackend.withThreads(threads);
        this.model = GptjModel.load(weights.languageModel(config), config, backend);
        this.width = t.hiddenSize();
    }

    /** Random embeddings standing in for the image prefix and prompt tokens. */
    float[] embeddings(int rows) {
        return weights.activations(rows * width);
    }

    @Override
    public void close() {
        backend.close();
        weights.close();
    }
}
