package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.weights.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The real size on this machine: a synthetic magma_v1_1024 checkpoint (random fp16, real shapes,
 * about 12.9 GB, made once into the cache directory) loads and generates. Tagged long: run with
 * {@code tools/mvn -Plong-tests -pl magma-facade -am test -Dtest=FullSizeSyntheticTest -Dsurefire.failIfNoSpecifiedTests=false}.
 * Prints the stage timings and the peak RSS.
 */
@Tag("long")
class FullSizeSyntheticTest {
    @Test
    void fullSizeModelGeneratesOnThisMachine() throws Exception {
        long t0 = System.nanoTime();
        Path file = SyntheticCheckpoint.ensure(MagmaConfig.MAGMA_V1_1024, CacheDirectory.resolve(), 0);
        double synthSeconds = (System.nanoTime() - t0) / 1e9;
        assertThat(Files.size(file)).isGreaterThan(12_000_000_000L);
        try (Magma magma = Magma.load(file)) {
            assertThat(magma.config()).isEqualTo(MagmaConfig.MAGMA_V1_1024);
            int size = magma.config().visual().imageResolution();
            float[] pixels = new float[3 * size * size];
            SplittableRandom rnd = new SplittableRandom(0);
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) rnd.nextGaussian();
            }
            GenerationRequest request = new GenerationRequest(ImageInput.preprocessed(new PreprocessedImage(size, pixels)),
                    "A painting of", SamplingOptions.defaults().withMaxNewTokens(4), false);
            Generation g = magma.generate(request, TokenListener.NONE);
            assertThat(g.tokens()).isNotEmpty();
            for (int token : g.tokens()) {
                assertThat(token).isBetween(0, magma.config().transformer().realVocabSize() - 1);
            }
            Timings t = g.timings();
            System.out.printf("full-size magma_v1_1024: synthetic checkpoint %.1f s (cached if ~0), load %.2f s, image encode %.2f s,"
                            + " prefill %d tokens %.2f s, decode %d steps %.2f s (%.2f tok/s), peak RSS %s%n",
                    synthSeconds, magma.loadTime().toNanos() / 1e9, t.imageEncode().toNanos() / 1e9,
                    magma.config().visual().imageTokens() + g.promptTokens(), t.prefill().toNanos() / 1e9,
                    t.decodeSteps(), t.decode().toNanos() / 1e9, t.decodeTokensPerSecond(), peakRss());
        }
    }

    private static String peakRss() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
                .map(l -> l.replaceAll("\\s+", " ")).findFirst().orElse("unknown");
    }
}
