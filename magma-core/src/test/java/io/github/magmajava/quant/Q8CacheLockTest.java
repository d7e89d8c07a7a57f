package io.github.magmajava.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.io.LogCapture;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.WriteLock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writers of one cache take turns, across threads and processes, and the second uses the first's
 * file; what a dead writer left behind is removed by the next one, and a disk still too small
 * names the temporary files that hold its space.
 *
 * <p>The first writer is held inside its free-space check (called once it owns the cache, before
 * its temporary file exists) until the test lets it go, so every interleaving here is forced, not
 * left to timing.
 */
class Q8CacheLockTest {
    /** Only a guard against a hang: each step is ordered by latches and messages, never by time. */
    private static final long HANG_GUARD_MINUTES = 2;

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final CountDownLatch writing = new CountDownLatch(1);
    private final CountDownLatch proceed = new CountDownLatch(1);
    private final AtomicInteger writes = new AtomicInteger();
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private LogCapture capture;

    @BeforeEach
    void listen() {
        capture = LogCapture.of(WriteLock.class, m -> events.add("log: " + m));
    }

    @AfterEach
    void release() {
        proceed.countDown();
        pool.shutdownNow();
        capture.close();
    }

    private Path cacheDir() {
        return dir.resolve("cache");
    }

    /** Counts a write and holds it until {@link #proceed} opens. */
    private Q8Cache.FreeSpace heldWriter() {
        return d -> {
            writes.incrementAndGet();
            writing.countDown();
            try {
                proceed.await();
            } catch (InterruptedException e) {
                throw new InterruptedIOException("test ended");
            }
            return Q8Cache.DISK.usable(d);
        };
    }

    private Q8Cache.FreeSpace countedWriter() {
        return d -> {
            writes.incrementAndGet();
            return Q8Cache.DISK.usable(d);
        };
    }

    private Future<Void> openInBackground(Path source, Q8Cache.FreeSpace space, String doneEvent) {
        return pool.submit(() -> {
            try {
                open(source, space);
            } catch (IOException | RuntimeException | Error e) {
                events.add(doneEvent + ", failed: " + e);
                throw e;
            }
            events.add(doneEvent);
            return null;
        });
    }

    private void open(Path source, Q8Cache.FreeSpace space) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(source)) {
            Q8Cache.open(source, Q8CacheTest.matrices(f), cacheDir(), space).close();
        }
    }

    private String nextEvent() throws InterruptedException {
        String e = events.poll(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
        assertThat(e).as("no word from the second writer").isNotNull();
        return e;
    }

    @Test
    void aSecondThreadWaitsForTheWriterThenUsesItsCache() throws Exception {
        Path source = Q8CacheTest.source(dir, "model.safetensors", 1);
        Future<Void> first = openInBackground(source, heldWriter(), "first done");
        writing.await();

        Future<Void> second = openInBackground(source, countedWriter(), "second done");
        assertThat(nextEvent()).as("the second writer should wait for the first").contains("waiting");
        proceed.countDown();
        first.get();
        second.get();
        assertThat(writes).as("quantized once between them").hasValue(1);
    }

    @Test
    void aSecondProcessWaitsForTheWriterThenUsesItsCache() throws Exception {
        Path source = Q8CacheTest.source(dir, "model.safetensors", 1);
        Future<Void> first = openInBackground(source, heldWriter(), "first done");
        writing.await();

        Path out = dir.resolve("second.out");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process second = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, Q8CacheSecondWriter.class.getName(), source.toString(), cacheDir().toString())
                .redirectOutput(out.toFile()).start();
        List<String> stderr = new ArrayList<>();
        try {
            pool.submit(() -> {
                try (BufferedReader err = second.errorReader()) {
                    for (String line; (line = err.readLine()) != null; ) {
                        synchronized (stderr) {
                            stderr.add(line);
                        }
                        events.add("stderr: " + line);
                    }
                }
                events.add("second exited");
                return null;
            });
            String event;
            do {
                event = nextEvent();
            } while (!event.contains("waiting") && !event.equals("second exited"));
            synchronized (stderr) {
                assertThat(event).as("the second process should wait for the first; its stderr: %s", stderr).contains("waiting");
            }
            proceed.countDown();
            first.get();
            assertThat(second.waitFor(HANG_GUARD_MINUTES, TimeUnit.MINUTES)).as("the second process ended").isTrue();
            synchronized (stderr) {
                assertThat(second.exitValue()).as("exit status; stderr: %s", stderr).isZero();
            }
        } finally {
            second.destroyForcibly();
        }
        assertThat(Files.readString(out)).contains("opened 2 weights").doesNotContain("quantizing");
        assertThat(writes).hasValue(1);
    }

    @Test
    void aTemporaryFileLeftByADeadWriterIsRemovedByTheNextOne() throws IOException {
        Path source = Q8CacheTest.source(dir, "model.safetensors", 1);
        Path cache = Q8Cache.file(source, cacheDir());
        Files.createDirectories(cacheDir());
        // Written a moment ago: its age says nothing; no process holds the cache, so its writer is dead.
        Path left = cache.resolveSibling("." + cache.getFileName() + ".8051.tmp");
        Files.write(left, new byte[4096]);
        Path named = Q8Cache.temporaryFile(cache); // named as the writer names them

        open(source, countedWriter());
        assertThat(left).doesNotExist();
        assertThat(named).doesNotExist();
        assertThat(names()).containsExactlyInAnyOrder(cache.getFileName().toString(), "." + cache.getFileName() + ".lock");
    }

    @Test
    void aShortDiskNamesTheTemporaryFilesThatStillHoldSpace() throws Exception {
        Path a = Q8CacheTest.source(dir, "model.safetensors", 1);
        Path b = Q8CacheTest.source(dir, "other.safetensors", 2);
        Path cacheA = Q8Cache.file(a, cacheDir());
        Path cacheB = Q8Cache.file(b, cacheDir());
        Files.createDirectories(cacheDir());
        Path deadA = cacheA.resolveSibling("." + cacheA.getFileName() + ".11.tmp");
        Files.write(deadA, new byte[3000]);

        // A live writer of the other cache, with (standing for its partial output) a temporary file.
        Future<Void> writerB = openInBackground(b, heldWriter(), "b done");
        writing.await();
        Path liveB = cacheB.resolveSibling("." + cacheB.getFileName() + ".22.tmp");
        Files.write(liveB, new byte[5000]);

        AtomicBoolean measuredAfterRemoval = new AtomicBoolean();
        Q8Cache.FreeSpace small = d -> {
            measuredAfterRemoval.set(Files.notExists(deadA));
            return 1000;
        };
        assertThatThrownBy(() -> open(a, small)).isInstanceOf(IOException.class)
                .hasMessageContaining(cacheA + " needs ").hasMessageContaining("has 1000 free")
                .hasMessageContaining(liveB + " (5000 bytes").hasMessageNotContaining(deadA.getFileName().toString())
                .hasMessageNotContaining("\n");
        assertThat(deadA).doesNotExist();
        assertThat(measuredAfterRemoval).as("free space measured after removing the dead writer's file").isTrue();
        assertThat(liveB).exists();

        proceed.countDown();
        writerB.get();
        // Its writer is gone now: the next writer in the directory removes what it left.
        open(a, countedWriter());
        assertThat(liveB).doesNotExist();
        assertThat(names()).noneMatch(n -> n.endsWith(".tmp"));
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(cacheDir())) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
