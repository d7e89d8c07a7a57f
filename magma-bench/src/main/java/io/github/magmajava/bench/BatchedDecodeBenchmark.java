package io.github.magmajava.bench;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.gptj.KvCache;
import java.util.Arrays;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Continuous batching at full size: one decode step of {@code generations} generations at once
 * through one GPT-J block with its adapter (fp16, 160 cached positions each), the weights read
 * once for all of them ({@code GptjModel.decode}). The time per step divided by the time of a
 * single generation's step is what {@code magma serve}'s aggregate decode rate gains.
 */
public class BatchedDecodeBenchmark extends BenchmarkSettings {
    static final int STEPS = 8;

    @State(Scope.Benchmark)
    public static class Batch {
        @Param({"1", "2", "4", "8"})
        public int generations;

        @Param({"2"})
        public int threads;

        OneBlockModel block;
        KvCache prompt;
        int[] tokens;
        KvCache[] caches;

        @Setup
        public void setUp() {
            block = new OneBlockModel(MagmaConfig.MAGMA_V1_1024, threads);
            prompt = block.model.keep(block.embeddings(OneBlockModel.PROMPT), OneBlockModel.PROMPT);
            tokens = new int[generations];
            Arrays.setAll(tokens, i -> i % 16);
        }

        /** Every generation continues the same 160 kept positions, each in its own cache. */
        @Setup(Level.Iteration)
        public void newCaches() {
            caches = new KvCache[generations];
            for (int i = 0; i < generations; i++) {
                caches[i] = prompt.extend(OneBlockModel.PROMPT + STEPS);
            }
        }

        @TearDown
        public void tearDown() {
            block.close();
        }
    }

    /** STEPS batched steps per iteration; the score is the time of one step of all the generations. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(STEPS)
    @Warmup(iterations = 3)
    @Measurement(iterations = 5)
    public float[][] decodeStep(Batch b) {
        float[][] logits = null;
        for (int i = 0; i < STEPS; i++) {
            logits = b.block.model.decode(b.tokens, b.caches);
        }
        return logits;
    }
}
