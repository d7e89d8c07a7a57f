package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.gptj.GptjModel;
import io.github.magmajava.gptj.KvCache;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Weights;
import io.github.magmajava.weights.MagmaWeights;
import io.github.magmajava.weights.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Decode speed of {@code --weights q8} against fp16 at the real size: the synthetic magma_v1_1024
 * checkpoint (cached, 12.9 GB) and its q8 cache (made on the first run, ~6.5 GB), the language
 * model alone (no image encoder), a 16-token prompt then greedy steps of one token. Prints the
 * cache build and open times, seconds per token, tokens/s, the weight bytes read per token and
 * the effective GB/s, and how far q8's logits and tokens are from fp16's. Tagged long: run with
 * {@code tools/mvn -Plong-tests -pl magma-facade -am test -Dtest=FullSizeQ8Test -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dmagma.q8.steps=N}, default 12; {@code -Dmagma.q8.formats=q8} or {@code fp16} to time one format
 * alone, so that the page cache holds only its weights).
 */
@Tag("long")
class FullSizeQ8Test {
    private static final int PROMPT = 16;

    record Run(int[] tokens, List<float[]> logits, double[] stepSeconds) {
        double medianStepSeconds() {
            double[] s = Arrays.copyOfRange(stepSeconds, 1, stepSeconds.length); // the first step warms up
            Arrays.sort(s);
            return s[s.length / 2];
        }

        double bestStepSeconds() {
            return Arrays.stream(stepSeconds).skip(1).min().orElseThrow();
        }
    }

    @Test
    void int8DecodeAgainstFp16() throws Exception {
        int steps = Integer.getInteger("magma.q8.steps", 12);
        MagmaConfig config = MagmaConfig.MAGMA_V1_1024;
        Path file = SyntheticCheckpoint.ensure(config, CacheDirectory.resolve(), 0);
        try (TensorFile f = TensorFiles.open(file)) {
            MagmaWeights w = MagmaWeights.bind(f, config);
            List<Tensor> linear = Q8Cache.linearWeights(w.languageModel());
            long params = linear.stream().mapToLong(Tensor::numel).sum();
            long scales = linear.stream().mapToLong(t -> t.dim(0) * Q8Quantizer.blocks((int) t.dim(1))).sum();
            boolean existed = Q8Cache.isCurrent(file, CacheDirectory.resolve());
            long t0 = System.nanoTime();
            Q8Weights q8 = Q8Cache.open(file, linear, CacheDirectory.resolve());
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            try (q8) {
                System.out.printf("q8 cache %s in %.1f s: %s (%d bytes)%n", existed ? "opened" : "made", openSeconds,
                        q8.path().orElseThrow(), Files.size(q8.path().orElseThrow()));
                List<String> formats = List.of(System.getProperty("magma.q8.formats", "q8,fp16").split(","));
                List<CpuBackend> backends = new ArrayList<>();
                try {
                    List<Decoder> decoders = new ArrayList<>();
                    for (String format : formats) {
                        CpuBackend cpu = format.equals("q8") ? CpuBackend.builder().quantized(q8).build() : CpuBackend.create();
                        backends.add(cpu);
                        decoders.add(new Decoder(GptjModel.load(w.languageModel(), config, cpu), config, steps));
                    }
                    // Steps of the formats alternate, so that both see the same machine load.
                    for (int s = 0; s < steps; s++) {
                        for (Decoder d : decoders) {
                            d.step(s);
                        }
                    }
                    Run quantized = null;
                    Run fp16 = null;
                    for (int i = 0; i < formats.size(); i++) {
                        Run run = decoders.get(i).run();
                        report(formats.get(i), run, formats.get(i).equals("q8") ? params + scales * 2.0 : params * 2.0);
                        if (formats.get(i).equals("q8")) {
                            quantized = run;
                        } else {
                            fp16 = run;
                        }
                    }
                    if (quantized != null && fp16 != null) {
                        compare(quantized, fp16, steps);
                    }
                } finally {
                    backends.forEach(CpuBackend::close);
                }
            }
        }
    }

    private static void compare(Run quantized, Run fp16, int steps) {
        System.out.printf("q8 decode is %.2fx fp16's (median), %.2fx (best)%n", fp16.medianStepSeconds() / quantized.medianStepSeconds(),
                fp16.bestStepSeconds() / quantized.bestStepSeconds());
        int agree = 0;
        while (agree < steps && quantized.tokens()[agree] == fp16.tokens()[agree]) {
            agree++;
        }
        double worst = 0;
        double scale = 0;
        for (int s = 0; s <= Math.min(agree, steps - 1); s++) {
            for (int i = 0; i < fp16.logits().get(s).length; i++) {
                scale = Math.max(scale, Math.abs(fp16.logits().get(s)[i]));
                worst = Math.max(worst, Math.abs(fp16.logits().get(s)[i] - quantized.logits().get(s)[i]));
            }
        }
        System.out.printf("q8 vs fp16: greedy tokens agree %d/%d, max logit error %.3g (max |logit| %.3g)%n", agree, steps, worst, scale);
    }

    private static void report(String name, Run run, double bytesPerToken) {
        double s = run.medianStepSeconds();
        System.out.printf("%s: median %.3f s/token (%.2f tok/s, %.1f GB/s), best %.3f s (%.2f tok/s, %.1f GB/s), %.2f GB of weights"
                        + " per token; steps %s%n", name, s, 1 / s, bytesPerToken / s / 1e9, run.bestStepSeconds(),
                1 / run.bestStepSeconds(), bytesPerToken / run.bestStepSeconds() / 1e9, bytesPerToken / 1e9, Arrays.toString(Arrays.stream(run.stepSeconds())
                        .map(x -> Math.round(x * 1000) / 1000.0).toArray()));
    }

    /** One model's greedy decode, a step at a time. */
    private static final class Decoder {
        private final GptjModel lm;
        private final KvCache cache;
        private final int realVocab;
        private final int[] tokens;
        private final List<float[]> logits = new ArrayList<>();
        private final double[] seconds;
        private final float[] row;
        private float[] last;

        Decoder(GptjModel lm, MagmaConfig config, int steps) {
            this.lm = lm;
            this.realVocab = config.transformer().realVocabSize();
            int d = config.transformer().hiddenSize();
            this.cache = lm.newCache(PROMPT + steps);
            this.tokens = new int[steps];
            this.seconds = new double[steps];
            this.row = new float[d];
            int[] prompt = new int[PROMPT];
            for (int i = 0; i < PROMPT; i++) {
                prompt[i] = 1000 + 37 * i;
            }
            float[] x = new float[PROMPT * d];
            lm.embed(prompt, x);
            last = lm.forward(x, PROMPT, cache);
        }

        void step(int s) {
            logits.add(last);
            int next = 0;
            for (int i = 1; i < realVocab; i++) {
                if (last[i] > last[next]) {
                    next = i;
                }
            }
            tokens[s] = next;
            long t0 = System.nanoTime();
            lm.embed(new int[] {next}, row);
            last = lm.forward(row, 1, cache);
            seconds[s] = (System.nanoTime() - t0) / 1e9;
        }

        Run run() {
            return new Run(tokens, logits, seconds);
        }
    }
}
