package io.github.magmajava.gptj;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.SequenceMode;
import io.github.magmajava.io.DType;
import io.github.magmajava.weights.LanguageModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Batched decode steps and chunked prompts: a generation's logits do not depend on which other
 * generations share its steps (bit for bit), and a prompt run in chunks gives the logits of the
 * prompt run whole within float rounding.
 */
@Timeout(30)
class BatchedStepsTest {
    private static final MagmaConfig CONFIG = TinyModel.CONFIG;
    private static final int D = CONFIG.transformer().hiddenSize();
    private static final LanguageModelWeights WEIGHTS = TinyModel.weights(CONFIG, DType.FLOAT16, 11);

    private static Backend backend(OneDnnMode mode) {
        return CpuBackend.builder().threads(2).oneDnn(mode).build();
    }

    /** Sequence i: a prompt of 2 + i rows, then tokens 3 + i, 5 + i, ... */
    private static float[] prompt(int i) {
        return TinyModel.embeddings(2 + i, D, 100 + i);
    }

    @ParameterizedTest
    @EnumSource(value = OneDnnMode.class, names = {"OFF", "FP32", "BF16"})
    void everyGenerationOfABatchGetsTheLogitsItGetsAloneBitForBit(OneDnnMode mode) {
        int generations = 11; // more than one group of independentRows()
        int steps = 4;
        try (Backend backend = backend(mode)) {
            GptjModel model = GptjModel.load(WEIGHTS, CONFIG, backend);
            List<List<float[]>> alone = new ArrayList<>();
            for (int i = 0; i < generations; i++) {
                KvCache cache = model.newCache(2 + i + steps);
                model.forward(prompt(i), 2 + i, cache);
                List<float[]> logits = new ArrayList<>();
                for (int s = 0; s < steps; s++) {
                    float[] x = new float[D];
                    model.embed(new int[] {token(i, s)}, x);
                    logits.add(model.forward(x, 1, cache));
                }
                alone.add(logits);
            }
            KvCache[] caches = new KvCache[generations];
            for (int i = 0; i < generations; i++) {
                caches[i] = model.newCache(2 + i + steps);
                model.forward(prompt(i), 2 + i, caches[i]);
            }
            for (int s = 0; s < steps; s++) {
                int[] tokens = new int[generations];
                for (int i = 0; i < generations; i++) {
                    tokens[i] = token(i, s);
                }
                float[][] batched = model.decode(tokens, caches);
                for (int i = 0; i < generations; i++) {
                    assertThat(batched[i]).as("%s generation %d step %d", mode, i, s).isEqualTo(alone.get(i).get(s));
                }
            }
            for (int i = 0; i < generations; i++) {
                assertThat(caches[i].length()).isEqualTo(2 + i + steps);
            }
        }
    }

    private static int token(int generation, int step) {
        return (3 + generation + 2 * step) % CONFIG.transformer().realVocabSize();
    }

    /** (The static mode's padding needs GPT-2's vocabulary: the facade's tests mix it in.) */
    @Test
    void sequencesShareStepsAndACacheIsRefusedTwice() {
        try (Backend backend = backend(OneDnnMode.OFF)) {
            GptjModel model = GptjModel.load(WEIGHTS, CONFIG, backend);
            Sequence first = model.sequence(SequenceMode.KV_CACHE, 12);
            Sequence second = model.sequence(SequenceMode.KV_CACHE, 12);
            Sequence firstAlone = model.sequence(SequenceMode.KV_CACHE, 12);
            float[] image = TinyModel.embeddings(2, D, 5);
            for (Sequence s : List.of(first, firstAlone)) {
                s.start(image, 2, new int[] {4, 9, 1});
            }
            second.start(image, 1, new int[] {8});
            List<float[]> both = Sequence.next(List.of(first, second), new int[] {7, 3});
            assertThat(both.get(0)).isEqualTo(firstAlone.next(7));
            KvCache one = model.newCache(4);
            assertThatThrownBy(() -> model.decode(new int[] {1, 2}, new KvCache[] {one, one}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
            assertThatThrownBy(() -> model.decode(new int[] {1}, new KvCache[] {one, model.newCache(2)}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 tokens for 2 caches");
        }
    }

    @Test
    void aPromptRunInChunksGivesTheLogitsOfThePromptRunWhole() {
        GptjModel model = GptjModel.load(WEIGHTS, CONFIG, new ReferenceBackend());
        float[] image = TinyModel.embeddings(5, D, 9);
        int[] ids = {3, 8, 2, 30};
        Sequence whole = model.sequence(SequenceMode.KV_CACHE, 14);
        float[] expected = whole.start(image, 5, ids);
        for (int chunk : new int[] {1, 2, 4, 8}) {
            Sequence chunked = model.sequence(SequenceMode.KV_CACHE, 14);
            chunked.prompt(image, 5, ids);
            float[] logits = null;
            int calls = 0;
            while (chunked.pendingRows() > 0) {
                assertThat(logits).as("no logits before the last chunk").isNull();
                logits = chunked.prefill(chunk);
                calls++;
            }
            assertThat(calls).isEqualTo((9 + chunk - 1) / chunk);
            assertThat(chunked.prefilled()).isEqualTo(9);
            for (int v = 0; v < expected.length; v++) {
                assertThat(logits[v]).as("chunk %d logit %d", chunk, v).isCloseTo(expected[v], offset(1e-5f));
            }
            Sequence reference = model.sequence(SequenceMode.KV_CACHE, 14);
            reference.start(image, 5, ids);
            assertThat(chunked.next(6)).usingComparatorWithPrecision(1e-5f).containsExactly(reference.next(6));
        }
        assertThatThrownBy(() -> whole.prefill(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("no prompt");
    }

    @Test
    void keptPositionsFromAChunkedPromptContinueLikeTheOneShotKeep() {
        GptjModel model = GptjModel.load(WEIGHTS, CONFIG, new ReferenceBackend());
        float[] image = TinyModel.embeddings(6, D, 4);
        Sequence keeping = model.sequence(SequenceMode.KV_CACHE, 6);
        keeping.prompt(image, 6, new int[0]);
        while (keeping.pendingRows() > 0) {
            keeping.prefill(4);
        }
        KvCache kept = keeping.keep();
        float[] fromChunks = model.continueFrom(kept, 9).start(new float[0], 0, new int[] {1, 2});
        float[] fromKeep = model.continueFrom(model.keep(image, 6), 9).start(new float[0], 0, new int[] {1, 2});
        assertThat(fromChunks).usingComparatorWithPrecision(1e-5f).containsExactly(fromKeep);
        assertThat(Arrays.equals(fromChunks, new float[fromChunks.length])).isFalse();
    }
}
