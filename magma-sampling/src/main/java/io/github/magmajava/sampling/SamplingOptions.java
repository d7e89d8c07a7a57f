package io.github.magmajava.sampling;

/**
 * How tokens are generated: at most {@code maxNewTokens} new tokens, each drawn from
 * softmax(logits / {@code temperature}) after a top-k filter ({@code topK} largest logits,
 * 0 = off) and a nucleus filter ({@code topP}, 1 = off); temperature 0 is greedy argmax.
 * {@code seed} seeds the one random generator of a generation (see {@link Sampler#create}).
 * See docs/sampling.md for the order of operations.
 */
public record SamplingOptions(int maxNewTokens, float temperature, int topK, float topP, long seed) {

    /** @throws IllegalArgumentException naming the parameter and the value found when one is out of range */
    public SamplingOptions {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, found " + maxNewTokens);
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 means argmax), found " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 disables the top-k filter), found " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1] (1 disables the top-p filter), found " + topP);
        }
    }

    /** Graphcore's run_inference: 6 new tokens, temperature 0.7, no top-k, top-p 0.9, seed 0. */
    public static SamplingOptions defaults() {
        return new SamplingOptions(6, 0.7f, 0, 0.9f, 0L);
    }

    public SamplingOptions withMaxNewTokens(int maxNewTokens) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed);
    }

    public SamplingOptions withTemperature(float temperature) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed);
    }

    public SamplingOptions withTopK(int topK) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed);
    }

    public SamplingOptions withTopP(float topP) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed);
    }

    public SamplingOptions withSeed(long seed) {
        return new SamplingOptions(maxNewTokens, temperature, topK, topP, seed);
    }
}
