package io.github.magmajava.download;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.time.Duration;

/**
 * Runs the steps of one download, each again after a transient failure (an IOException from the
 * network, 408, 429, 5xx), {@code backoff} x 1, 2, 4 ... apart (a minute at most), until
 * {@code maxAttempts} failures in all; then the last failure ends the download.
 */
final class Retries {
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(1);

    /** A step of a download that may fail. */
    @FunctionalInterface
    interface Step<T> {
        T run() throws IOException;
    }

    private final URI url;
    private final DownloadOptions options;
    private int failures;

    Retries(URI url, DownloadOptions options) {
        this.url = url;
        this.options = options;
    }

    <T> T run(Step<T> step) throws IOException {
        while (true) {
            try {
                return step.run();
            } catch (DownloadException e) {
                if (!e.retryable()) {
                    throw e;
                }
                failed(e);
            } catch (InterruptedIOException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                failed(e);
            } catch (IOException e) {
                failed(e);
            }
        }
    }

    private void failed(IOException e) throws IOException {
        failures++;
        if (failures >= options.maxAttempts()) {
            String message = e instanceof DownloadException ? e.getMessage() : "GET " + url + ": " + DownloadException.describe(e);
            throw new DownloadException(message + (failures > 1 ? " (gave up after " + failures + " attempts)" : ""), e);
        }
        long millis = options.backoff().toMillis() << Math.min(failures - 1, 30);
        Duration delay = Duration.ofMillis(Math.min(Math.max(millis, 0), MAX_BACKOFF.toMillis()));
        options.listener().retrying(failures, delay, e);
        try {
            Thread.sleep(delay);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry " + url);
        }
    }
}
