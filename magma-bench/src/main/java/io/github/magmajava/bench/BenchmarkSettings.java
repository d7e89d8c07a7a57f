package io.github.magmajava.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings every benchmark inherits: short (2 warmup and 3 measured iterations of 2 s, one
 * fork) so the whole suite fits a shared 2-core machine; docs/performance.md shows how to run
 * longer. Sample mode times single calls, so a median can be read next to the mean: on a loaded
 * machine, stalls of other processes inflate the mean but hardly move the median.
 *
 * <p>The fork gets the Vector API and native access, and {@code -Xbatch}: a method waits for its
 * compilation instead of running on in the interpreter or C1, whose Vector API fallback is ~100x
 * slower, so that warmup ends with compiled kernels even when compiler threads get little CPU.
 * A command-line {@code -jvmArgsAppend} replaces these flags: repeat them there.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xbatch",
    "-XX:+UseTransparentHugePages"})
abstract class BenchmarkSettings {
}
