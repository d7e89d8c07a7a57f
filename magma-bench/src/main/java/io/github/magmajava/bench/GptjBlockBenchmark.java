package io.github.magmajava.bench;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.gptj.KvCache;
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
 * One GPT-J block with its adapter at full size (fp16 weights, 16 heads x 256, MLP 16384):
 * the 160-row prefill of a prompt into an empty KV cache, and decode steps against a 160-position
 * cache. A whole token of MAGMA is 28 such blocks plus the LM head ({@link GemvBenchmark} LM_HEAD).
 */
public class GptjBlockBenchmark extends BenchmarkSettings {
    /** Decode steps per measured call; the cache grows from 160 to 160 + STEPS - 1 positions during it. */
    static final int STEPS = 8;

    @State(Scope.Benchmark)
    public static class Block {
        @Param({"1", "2"})
        public int threads;

        OneBlockModel block;
        float[] prompt;
        float[] token;

        @Setup
        public void setUp() {
            block = new OneBlockModel(MagmaConfig.MAGMA_V1_1024, threads);
            prompt = block.embeddings(OneBlockModel.PROMPT);
            token = block.embeddings(1);
        }

        @TearDown
        public void tearDown() {
            block.close();
        }
    }

    /** A cache holding the prompt, refilled before every iteration so each one decodes positions 160 .. 167. */
    @State(Scope.Benchmark)
    public static class PrefilledCache {
        KvCache cache;

        @Setup(Level.Iteration)
        public void prefill(Block b) {
            cache = b.block.model.newCache(OneBlockModel.PROMPT + STEPS);
            b.block.model.forward(b.prompt, OneBlockModel.PROMPT, cache);
        }
    }

    @Benchmark
    public float[] prefill160(Block b) {
        return b.block.model.forward(b.prompt, OneBlockModel.PROMPT, b.block.model.newCache(OneBlockModel.PROMPT));
    }

    /** Single-shot: each iteration is STEPS decode steps after an untimed prefill, never a longer cache. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(STEPS)
    @Warmup(iterations = 3)
    @Measurement(iterations = 5)
    public float[] decodeStepAfter160(Block b, PrefilledCache c) {
        float[] logits = null;
        for (int i = 0; i < STEPS; i++) {
            logits = b.block.model.forward(b.token, 1, c.cache);
        }
        return logits;
    }
}
