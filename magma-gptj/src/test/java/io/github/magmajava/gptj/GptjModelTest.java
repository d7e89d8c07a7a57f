package io.github.magmajava.gptj;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BlockWeights;
import io.github.magmajava.weights.LanguageModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class GptjModelTest {
    private static final MagmaConfig CONFIG = TinyModel.CONFIG;
    private static final int D = CONFIG.transformer().hiddenSize();
    private static final LanguageModelWeights WEIGHTS = TinyModel.weights(CONFIG, DType.FLOAT16, 7);

    private final GptjModel model = GptjModel.load(WEIGHTS, CONFIG, new ReferenceBackend());

    @Test
    void prefillMatchesAnIndependentImplementationOfTheEquations() {
        int rows = 9;
        float[] input = TinyModel.embeddings(rows, D, 1);
        float[] logits = model.forward(input, rows, model.newCache(rows));
        double[] expected = new NaiveGptj(WEIGHTS, CONFIG).logits(input, rows);
        assertThat(logits).hasSize(CONFIG.transformer().vocabSize());
        assertThat(maxAbsDiff(logits, expected)).isLessThan(1e-4);
    }

    @Test
    void cachedStepGivesTheLogitsOfTheFullPrefill() {
        int rows = 8;
        float[] input = TinyModel.embeddings(rows, D, 2);
        float[] full = model.forward(input, rows, model.newCache(rows));

        KvCache cache = model.newCache(rows);
        model.forward(input, rows - 1, cache);
        float[] cached = model.forward(Arrays.copyOfRange(input, (rows - 1) * D, rows * D), 1, cache);

        assertThat(cache.length()).isEqualTo(rows);
        assertThat(maxAbsDiff(cached, full)).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void everyDecodeStepMatchesThePrefillOfThatLength() {
        int rows = 7;
        float[] input = TinyModel.embeddings(rows, D, 3);
        KvCache cache = model.newCache(rows);
        model.forward(input, 2, cache);
        for (int t = 3; t <= rows; t++) {
            float[] step = model.forward(Arrays.copyOfRange(input, (t - 1) * D, t * D), 1, cache);
            float[] prefill = model.forward(input, t, model.newCache(t));
            assertThat(maxAbsDiff(step, prefill)).as("step to %d positions", t).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void cpuBackendAgreesWithTheReferenceOnPrefillAndCachedSteps() {
        int rows = 8;
        float[] input = TinyModel.embeddings(rows, D, 9);
        float[] expected = model.forward(input, rows, model.newCache(rows));
        try (CpuBackend cpu = CpuBackend.withThreads(2)) {
            GptjModel fast = GptjModel.load(WEIGHTS, CONFIG, cpu);
            assertThat(maxAbsDiff(fast.forward(input, rows, fast.newCache(rows)), expected)).isLessThanOrEqualTo(1e-4);
            KvCache cache = fast.newCache(rows);
            fast.forward(input, rows - 1, cache);
            float[] step = fast.forward(Arrays.copyOfRange(input, (rows - 1) * D, rows * D), 1, cache);
            assertThat(maxAbsDiff(step, expected)).isLessThanOrEqualTo(1e-4);
        }
    }

    @Test
    void positionsCountOnFromTheCacheLength() {
        RecordingBackend backend = new RecordingBackend();
        GptjModel recorded = GptjModel.load(WEIGHTS, CONFIG, backend);
        float[] input = TinyModel.embeddings(7, D, 4);
        KvCache cache = recorded.newCache(7);
        recorded.forward(input, 5, cache);
        recorded.forward(input, 1, cache);
        recorded.forward(input, 1, cache);

        int perStep = 2 * CONFIG.transformer().layers(); // q and k in every layer
        List<Integer> expected = new ArrayList<>();
        for (int start : new int[] {0, 5, 6}) {
            expected.addAll(Collections.nCopies(perStep, start));
        }
        assertThat(backend.ropeStarts).isEqualTo(expected);
    }

    @Test
    void thePositionOfATokenChangesItsLogits() {
        float[] input = TinyModel.embeddings(3, D, 5);
        float[] swapped = new float[3 * D];
        System.arraycopy(input, D, swapped, 0, D);
        System.arraycopy(input, 0, swapped, D, D);
        System.arraycopy(input, 2 * D, swapped, 2 * D, D);
        float[] a = model.forward(input, 3, model.newCache(3));
        float[] b = model.forward(swapped, 3, model.newCache(3));
        assertThat(maxAbsDiff(a, b)).isGreaterThan(1e-3);
    }

    @Test
    void aFullCacheRefusesMoreAndStaysUsable() {
        KvCache cache = model.newCache(5);
        float[] input = TinyModel.embeddings(5, D, 6);
        model.forward(input, 4, cache);
        assertThatThrownBy(() -> model.forward(input, 2, cache))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("KV cache full")
                .hasMessageContaining("4 of 5 positions")
                .hasMessageContaining("2 more");
        assertThat(cache.length()).isEqualTo(4);
        float[] last = model.forward(Arrays.copyOfRange(input, 4 * D, 5 * D), 1, cache);
        assertThat(maxAbsDiff(last, model.forward(input, 5, model.newCache(5)))).isLessThanOrEqualTo(1e-5);
        assertThatThrownBy(() -> model.forward(input, 1, cache)).hasMessageContaining("KV cache full");
    }

    @Test
    void cacheCapacityIsBoundedByTheModelsPositions() {
        int max = CONFIG.transformer().maxPositions();
        assertThat(model.newCache(max).capacity()).isEqualTo(max);
        assertThatThrownBy(() -> model.newCache(max + 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(max));
        assertThatThrownBy(() -> model.newCache(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aCacheOfAnotherModelIsRefused() {
        MagmaConfig other = TinyModel.config(1, 32, 4, 4, 40, 37, 24);
        GptjModel oneLayer = GptjModel.load(TinyModel.weights(other, DType.FLOAT32, 1), other, new ReferenceBackend());
        assertThatThrownBy(() -> model.forward(TinyModel.embeddings(1, D, 1), 1, oneLayer.newCache(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("another model");
    }

    @Test
    void badRowsAndShortInputsAreRefused() {
        KvCache cache = model.newCache(4);
        assertThatThrownBy(() -> model.forward(new float[D], 0, cache)).hasMessageContaining("rows must be >= 1");
        assertThatThrownBy(() -> model.forward(new float[2 * D - 1], 2, cache)).hasMessageContaining("need " + 2 * D);
        assertThat(cache.length()).isZero();
    }

    @Test
    void embeddingsAreRowsOfWte() {
        int[] ids = {0, 36, 5, 5};
        float[] out = new float[ids.length * D];
        model.embed(ids, out);
        float[] wte = WEIGHTS.wte().toFloatArray();
        for (int r = 0; r < ids.length; r++) {
            assertThat(Arrays.copyOfRange(out, r * D, (r + 1) * D)).containsExactly(Arrays.copyOfRange(wte, ids[r] * D, (ids[r] + 1) * D));
        }
    }

    @Test
    void idsWithoutAnEmbeddingAreRefused() {
        int real = CONFIG.transformer().realVocabSize();
        float[] out = new float[2 * D];
        assertThatThrownBy(() -> model.embed(new int[] {1, real}, out))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id " + real + " at index 1")
                .hasMessageContaining("[0, " + real + ")");
        assertThatThrownBy(() -> model.embed(new int[] {-1}, out)).hasMessageContaining("token id -1");
        assertThatThrownBy(() -> model.embed(new int[] {1, 2, 3}, out)).hasMessageContaining("3 ids need " + 3 * D);
    }

    @Test
    void phasesSplitsAndTheHeadOnTheLastRowOnly() {
        RecordingBackend backend = new RecordingBackend();
        GptjModel recorded = GptjModel.load(WEIGHTS, CONFIG, backend);
        int[] ids = {3, 1, 4, 1, 5};
        float[] input = new float[ids.length * D];
        recorded.embed(ids, input);
        recorded.forward(input, ids.length, recorded.newCache(ids.length));

        assertThat(backend.phases).containsExactly("embedding", "block 0", "block 1", "lm head");
        assertThat(backend.readsOutsidePhase).isEmpty();
        assertThat(backend.linearRows.get("lm.lm_head.weight")).containsExactly(1);
        assertThat(backend.linearRows.get("lm.transformer.h.1.mlp.0.c_fc.weight")).containsExactly(ids.length);

        for (int n = 0; n < 2; n++) {
            String p = "lm.transformer.h." + n + ".";
            assertThat(backend.splits)
                    .containsEntry(p + "attn.attention.q_proj.weight", Split.OUTPUT_COLUMNS)
                    .containsEntry(p + "attn.attention.k_proj.weight", Split.OUTPUT_COLUMNS)
                    .containsEntry(p + "attn.attention.v_proj.weight", Split.OUTPUT_COLUMNS)
                    .containsEntry(p + "attn.attention.out_proj.weight", Split.INPUT_ROWS)
                    .containsEntry(p + "mlp.0.c_fc.weight", Split.OUTPUT_COLUMNS)
                    .containsEntry(p + "mlp.0.c_proj.weight", Split.INPUT_ROWS)
                    .containsEntry(p + "mlp.1.adapter.0.weight", Split.OUTPUT_COLUMNS)
                    .containsEntry(p + "mlp.1.adapter.2.weight", Split.INPUT_ROWS);
        }
        assertThat(backend.splits).containsEntry("lm.lm_head.weight", Split.VOCABULARY).hasSize(8 * 2 + 1);
    }

    @Test
    void forwardLeavesItsInputUntouched() {
        float[] input = TinyModel.embeddings(3, D, 8);
        float[] copy = input.clone();
        model.forward(input, 3, model.newCache(3));
        assertThat(input).containsExactly(copy);
    }

    @Test
    void concurrentGenerationsDoNotInterfere() throws Exception {
        int rows = 6;
        List<float[]> inputs = List.of(TinyModel.embeddings(rows, D, 10), TinyModel.embeddings(rows, D, 11),
                TinyModel.embeddings(rows, D, 12), TinyModel.embeddings(rows, D, 13));
        List<float[]> sequential = inputs.stream().map(this::generate).toList();
        try (ExecutorService pool = Executors.newFixedThreadPool(inputs.size())) {
            List<Future<float[]>> futures = inputs.stream().map(in -> pool.submit(() -> generate(in))).toList();
            for (int i = 0; i < inputs.size(); i++) {
                assertThat(futures.get(i).get()).containsExactly(sequential.get(i));
            }
        }
    }

    /** Prefill of two rows, then one row per step; the logits of every step, concatenated. */
    private float[] generate(float[] input) {
        int rows = input.length / D;
        KvCache cache = model.newCache(rows);
        float[] all = model.forward(input, 2, cache);
        for (int t = 2; t < rows; t++) {
            float[] step = model.forward(Arrays.copyOfRange(input, t * D, (t + 1) * D), 1, cache);
            float[] joined = Arrays.copyOf(all, all.length + step.length);
            System.arraycopy(step, 0, joined, all.length, step.length);
            all = joined;
        }
        return all;
    }

    @Test
    void weightsOfTheWrongShapeAreRefusedByName() {
        BlockWeights b = WEIGHTS.blocks().get(1);
        Tensor wrong = TinyModel.tensor("lm.transformer.h.1.mlp.0.c_fc.bias", DType.FLOAT32, new float[3], 3);
        BlockWeights bad = new BlockWeights(b.ln1Weight(), b.ln1Bias(), b.qProj(), b.kProj(), b.vProj(), b.outProj(),
                b.fcWeight(), wrong, b.projWeight(), b.projBias(),
                b.adapterDownWeight(), b.adapterDownBias(), b.adapterUpWeight(), b.adapterUpBias());
        LanguageModelWeights w = new LanguageModelWeights(WEIGHTS.wte(), List.of(WEIGHTS.blocks().get(0), bad),
                WEIGHTS.lnFWeight(), WEIGHTS.lnFBias(), WEIGHTS.lmHeadWeight(), WEIGHTS.lmHeadBias());
        assertThatThrownBy(() -> GptjModel.load(w, CONFIG, new ReferenceBackend()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lm.transformer.h.1.mlp.0.c_fc.bias")
                .hasMessageContaining("[128]");
        LanguageModelWeights oneBlock = new LanguageModelWeights(WEIGHTS.wte(), List.of(WEIGHTS.blocks().get(0)),
                WEIGHTS.lnFWeight(), WEIGHTS.lnFBias(), WEIGHTS.lmHeadWeight(), WEIGHTS.lmHeadBias());
        assertThatThrownBy(() -> GptjModel.load(oneBlock, CONFIG, new ReferenceBackend())).hasMessageContaining("2 layers");
    }

    static double maxAbsDiff(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
        }
        return max;
    }

    static double maxAbsDiff(float[] actual, double[] expected) {
        assertThat(actual).hasSize(expected.length);
        double max = 0;
        for (int i = 0; i < actual.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
        }
        return max;
    }
}
