package io.github.magmajava.cli;

import io.github.magmajava.sampling.SamplingOptions;
import picocli.CommandLine.Option;

/** How tokens are drawn: {@link SamplingOptions} as options, checked as they are parsed (a picocli mixin). */
final class SamplingArgs {
    @Option(names = "--max-out-tokens", defaultValue = "6", converter = OptionValues.Positive.class,
            description = "At most this many new tokens, >= 1 (default: ${DEFAULT-VALUE}).")
    int maxOutTokens;

    @Option(names = "--temperature", defaultValue = "0.7", converter = OptionValues.Temperature.class,
            description = "Finite, >= 0; 0 picks the most likely token (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", converter = OptionValues.NonNegative.class,
            description = "Keep the k most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.9", converter = OptionValues.TopP.class,
            description = "Nucleus sampling mass in (0, 1]; 1 keeps all (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "0", converter = OptionValues.AnyLong.class,
            description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    SamplingOptions toOptions() {
        return new SamplingOptions(maxOutTokens, temperature, topK, topP, seed);
    }
}
