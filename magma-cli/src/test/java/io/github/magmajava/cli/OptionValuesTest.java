package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.magmajava.Magma;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * A bad option value is a usage error (exit 2) found while parsing, before any work, and the
 * message names the option as the user typed it, not the API field behind it. The inputs do not
 * exist: a value that got past parsing would fail on them instead.
 */
class OptionValuesTest {
    private static final String[] GENERATE = {"generate", "--checkpoint", "absent.pt", "--image", "absent.png", "--prompt", "A"};
    private static final String[] BENCH = {"bench", "--checkpoint", "absent.pt", "--bandwidth-mib", "1"};
    private static final String[] PREPROCESS = {"preprocess", "--image", "absent.png", "--out", "absent/x.npy"};

    static Stream<Arguments> badValues() {
        int max = Magma.maxThreads();
        String threads = "must be from 1 to " + max + " (4 per available processor), found ";
        return Stream.of(
                Arguments.of(GENERATE, "--max-out-tokens", "0", "must be >= 1, found 0"),
                Arguments.of(GENERATE, "--max-out-tokens", "six", "'six' is not an integer"),
                Arguments.of(GENERATE, "--temperature", "-0.5", "must be a finite number >= 0 (0 picks the most likely token), found -0.5"),
                Arguments.of(GENERATE, "--temperature", "NaN", "must be a finite number >= 0 (0 picks the most likely token), found NaN"),
                Arguments.of(GENERATE, "--temperature", "warm", "'warm' is not a number"),
                Arguments.of(GENERATE, "--top-k", "-1", "must be >= 0, found -1"),
                Arguments.of(GENERATE, "--top-p", "0", "must be in (0, 1] (1 keeps every token), found 0.0"),
                Arguments.of(GENERATE, "--top-p", "1.5", "must be in (0, 1] (1 keeps every token), found 1.5"),
                Arguments.of(GENERATE, "--seed", "x", "'x' is not an integer"),
                Arguments.of(GENERATE, "--threads", "0", threads + "0"),
                Arguments.of(GENERATE, "--threads", "40000", threads + "40000"),
                Arguments.of(GENERATE, "--config", "magma_v2", "unknown config 'magma_v2'; presets: magma_v1_1024, magma_v1_500"),
                Arguments.of(BENCH, "--threads", "40000", threads + "40000"),
                Arguments.of(BENCH, "--prompt-tokens", "0", "must be >= 1, found 0"),
                Arguments.of(BENCH, "--new-tokens", "1", "must be >= 2, found 1"),
                Arguments.of(BENCH, "--warmup", "-1", "must be >= 0, found -1"),
                Arguments.of(BENCH, "--runs", "0", "must be >= 1, found 0"),
                Arguments.of(BENCH, "--bandwidth-mib", "0", "must be >= 1, found 0"),
                Arguments.of(PREPROCESS, "--size", "0", "must be >= 1, found 0"));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("badValues")
    void aBadValueIsAUsageErrorNamingTheOption(String[] command, String option, String value, String complaint) {
        List<String> args = new ArrayList<>(Arrays.asList(command));
        args.add(option);
        args.add(value);
        MagmaCliTest.Result r = MagmaCliTest.run(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("magma: Invalid value for option '" + option + "': " + complaint
                + " (see 'magma " + command[0] + " --help')\n");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theBoundsThemselvesAreAccepted() {
        assertThat(new OptionValues.Temperature().convert("0")).isZero();
        assertThat(new OptionValues.TopP().convert("1")).isEqualTo(1f);
        assertThat(new OptionValues.TopP().convert("1e-6")).isEqualTo(1e-6f);
        assertThat(new OptionValues.Threads().convert("1")).isEqualTo(1);
        assertThat(new OptionValues.Threads().convert(Integer.toString(Magma.maxThreads()))).isEqualTo(Magma.maxThreads());
        assertThat(new OptionValues.NonNegative().convert("0")).isZero();
        assertThat(new OptionValues.Positive().convert("1")).isEqualTo(1);
    }

    @Test
    void theThreadsHelpSaysWhatItBounds() {
        for (String command : new String[] {"generate", "bench"}) {
            assertThat(MagmaCliTest.run(command, "--help").out().replaceAll("\\s+", " "))
                    .contains("--threads=N The CPU backend's worker threads, including oneDNN's: from 1 to 4 per available processor");
        }
    }
}
