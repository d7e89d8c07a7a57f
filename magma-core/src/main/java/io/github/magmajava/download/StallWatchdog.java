package io.github.magmajava.download;

import java.io.Closeable;
import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * Closes a response body that delivers nothing for {@code timeout}, so that a read blocked on a
 * silent connection ends (HttpClient's own timeout covers only the wait for the headers). The
 * reader then sees an error or an early end, and {@link #check} says which it was.
 */
final class StallWatchdog implements AutoCloseable {
    private final Closeable body;
    private final Duration timeout;
    private final Thread thread;
    private volatile long lastProgress = System.nanoTime();
    private volatile boolean fired;

    StallWatchdog(Closeable body, Duration timeout) {
        this.body = body;
        this.timeout = timeout;
        this.thread = Thread.ofVirtual().name("download-watchdog").start(this::watch);
    }

    void progressed() {
        lastProgress = System.nanoTime();
    }

    /** @throws HttpTimeoutException when this watchdog closed the body */
    void check() throws HttpTimeoutException {
        if (fired) {
            throw new HttpTimeoutException("the server sent nothing for " + timeout.toMillis() / 1000.0 + " s");
        }
    }

    private void watch() {
        try {
            while (true) {
                long idle = System.nanoTime() - lastProgress;
                if (idle >= timeout.toNanos()) {
                    fired = true;
                    body.close();
                    return;
                }
                Thread.sleep(Duration.ofNanos(timeout.toNanos() - idle));
            }
        } catch (InterruptedException | IOException done) {
            // closed by the reader, or the body was already closed
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
