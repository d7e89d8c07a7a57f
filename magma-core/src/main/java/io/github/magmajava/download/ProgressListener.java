package io.github.magmajava.download;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** What a {@link Downloader} reports while it works; every method but {@link #progress} may be left out. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (bytes, total, bytesPerSecond) -> {
    };

    /**
     * Bytes of the file so far (those of a resumed part included), of {@code total} (-1 when the
     * server does not say), at {@code bytesPerSecond} over this transfer. Called about ten times
     * a second, and once when the last byte has arrived.
     */
    void progress(long bytes, long total, double bytesPerSecond);

    /** A transfer of {@code url} into {@code file} starts at byte {@code from} (non-zero when resuming). */
    default void started(URI url, Path file, long from, long total) {
    }

    /** Another thread or process is downloading {@code file}; this one waits for it. */
    default void waiting(Path file) {
    }

    /** Attempt {@code attempt} failed with {@code cause}; the next starts in {@code delay}. */
    default void retrying(int attempt, Duration delay, IOException cause) {
    }
}
