package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer at a time per file, across threads of this JVM and across processes; a waiter says
 * so in the log, can be interrupted, and a lock given back (once, however often it is closed) is
 * free for the next writer. Every wait is ordered by the log line that announces it, not by time.
 */
class WriteLockTest {
    /** Only a guard against a hang. */
    private static final long HANG_GUARD_MINUTES = 2;

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final BlockingQueue<String> log = new LinkedBlockingQueue<>();
    private LogCapture capture;

    @BeforeEach
    void listen() {
        capture = LogCapture.of(WriteLock.class, log::add);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        capture.close();
    }

    private String nextLogLine() throws InterruptedException {
        String line = log.poll(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
        assertThat(line).as("no log line from the waiting writer").isNotNull();
        return line;
    }

    /** A {@link WriteLockHolder} process for {@code target}; it keeps the lock until its input closes. */
    private static Process startHolder(Path target) throws IOException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, WriteLockHolder.class.getName(), target.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    @Test
    void theLockFileIsAHiddenSiblingThatStaysAfterClose() throws IOException {
        Path target = dir.resolve("model.q8");
        assertThat(WriteLock.file(target)).isEqualTo(dir.resolve(".model.q8.lock"));
        WriteLock.acquire(target, "the q8 cache").close();
        assertThat(WriteLock.file(target)).isRegularFile();
        assertThat(target).doesNotExist();
    }

    @Test
    void aSecondTryFailsWhileTheFirstHoldsItAndSucceedsAfter() throws IOException {
        Path target = dir.resolve("a");
        WriteLock first = WriteLock.tryAcquire(target, "a");
        assertThat(first).isNotNull();
        assertThat(WriteLock.tryAcquire(target, "a")).isNull();
        assertThat(WriteLock.tryAcquire(dir.resolve("b"), "b")).as("another file is not locked").isNotNull().satisfies(
                WriteLock::close);
        first.close();
        first.close(); // a second close must not give back a second permit
        WriteLock again = WriteLock.tryAcquire(target, "a");
        assertThat(again).isNotNull();
        assertThat(WriteLock.tryAcquire(target, "a")).as("one writer, even after a double close").isNull();
        again.close();
    }

    @Test
    void theSameFileByAnotherPathIsTheSameLock() throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        try (WriteLock lock = WriteLock.acquire(dir.resolve("a"), "a")) {
            assertThat(lock).isNotNull();
            assertThat(WriteLock.tryAcquire(dir.resolve("sub/../a"), "a")).isNull();
        }
    }

    @Test
    void aSecondThreadWaitsThenOwnsIt() throws Exception {
        Path target = dir.resolve("a");
        WriteLock first = WriteLock.acquire(target, "the q8 cache");
        Future<WriteLock> second = pool.submit(() -> WriteLock.acquire(target, "the q8 cache"));
        assertThat(nextLogLine()).isEqualTo("waiting for another thread of this process writing the q8 cache " + target);
        assertThat(second).isNotDone();
        first.close();
        WriteLock got = second.get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
        assertThat(got).isNotNull();
        assertThat(WriteLock.tryAcquire(target, "a")).isNull();
        got.close();
        assertThat(WriteLock.tryAcquire(target, "a")).isNotNull().satisfies(WriteLock::close);
    }

    @Test
    void anInterruptedWaiterReportsIt() throws Exception {
        Path target = dir.resolve("a");
        BlockingQueue<String> outcome = new LinkedBlockingQueue<>();
        try (WriteLock first = WriteLock.acquire(target, "a")) {
            assertThat(first).isNotNull();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    WriteLock.acquire(target, "the download").close();
                    outcome.add("acquired");
                } catch (IOException e) {
                    outcome.add(e.getClass().getSimpleName() + ": " + e.getMessage() + "; interrupted: "
                            + Thread.currentThread().isInterrupted());
                }
            });
            nextLogLine();
            waiter.interrupt();
            assertThat(outcome.poll(HANG_GUARD_MINUTES, TimeUnit.MINUTES)).isEqualTo(
                    "InterruptedIOException: interrupted while waiting to write the download " + target + "; interrupted: true");
        }
        // The interrupted waiter took no permit: the lock is free once the first is closed.
        assertThat(WriteLock.tryAcquire(target, "a")).isNotNull().satisfies(WriteLock::close);
    }

    @Test
    void anotherProcessHoldingItMakesATryFailAndAWaiterWait() throws Exception {
        Path target = dir.resolve("a");
        Process holder = startHolder(target);
        try {
            try (BufferedReader out = holder.inputReader()) {
                assertThat(out.readLine()).as("the holder process took the lock").isEqualTo("locked");
                assertThat(WriteLock.tryAcquire(target, "a")).isNull();
                // The failed try gave its permit back: a thread of this JVM now waits for the process.
                Future<WriteLock> waiter = pool.submit(() -> WriteLock.acquire(target, "the q8 cache"));
                assertThat(nextLogLine()).isEqualTo("waiting for another process writing the q8 cache " + target
                        + " (it holds the lock on " + WriteLock.file(target) + ")");
                assertThat(waiter).isNotDone();
                holder.getOutputStream().close();
                assertThat(holder.waitFor(HANG_GUARD_MINUTES, TimeUnit.MINUTES)).isTrue();
                WriteLock got = waiter.get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
                assertThat(got).isNotNull();
                assertThat(WriteLock.tryAcquire(target, "a")).isNull();
                got.close();
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void aThreadInterruptedWhileWaitingForAnotherProcessGivesUpAndItsPermitBack() throws Exception {
        Path target = dir.resolve("a");
        Process holder = startHolder(target);
        try (BufferedReader out = holder.inputReader()) {
            assertThat(out.readLine()).as("the holder process took the lock").isEqualTo("locked");
            BlockingQueue<String> outcome = new LinkedBlockingQueue<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    WriteLock.acquire(target, "the download").close();
                    outcome.add("acquired");
                } catch (IOException e) {
                    outcome.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            });
            assertThat(nextLogLine()).startsWith("waiting for another process writing the download");
            waiter.interrupt();
            assertThat(outcome.poll(HANG_GUARD_MINUTES, TimeUnit.MINUTES))
                    .isEqualTo("InterruptedIOException: interrupted while waiting for the lock on " + WriteLock.file(target));
            holder.getOutputStream().close();
            assertThat(holder.waitFor(HANG_GUARD_MINUTES, TimeUnit.MINUTES)).isTrue();
            assertThat(WriteLock.tryAcquire(target, "a")).as("the permit was given back").isNotNull().satisfies(WriteLock::close);
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void aDirectoryWithoutLocksGetsAnErrorNamingTheLockFile() throws IOException {
        Path target = dir.resolve("a");
        Files.createDirectory(WriteLock.file(target)); // the lock file cannot be opened
        assertThatThrownBy(() -> WriteLock.acquire(target, "the q8 cache")).isInstanceOf(IOException.class)
                .hasMessageStartingWith(WriteLock.file(target) + ": cannot lock it (")
                .hasMessageContaining("writing the q8 cache needs a directory that supports file locks");
        // The failure gave its permit back.
        Files.delete(WriteLock.file(target));
        assertThat(WriteLock.tryAcquire(target, "a")).isNotNull().satisfies(WriteLock::close);
    }

    @Test
    void aMissingDirectoryIsAnError() {
        assertThatThrownBy(() -> WriteLock.tryAcquire(dir.resolve("no/such/a"), "a")).isInstanceOf(IOException.class);
    }
}
