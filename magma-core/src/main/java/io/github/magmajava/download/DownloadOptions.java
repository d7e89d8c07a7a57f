package io.github.magmajava.download;

import io.github.magmajava.io.CacheDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * How a {@link Downloader} works: into {@code directory}, checking the file against
 * {@code sha256} (64 hex digits, or null for no check), trying up to {@code maxAttempts} times
 * with a {@code backoff} that doubles after each failure, giving up on a connection after
 * {@code connectTimeout} and on a server that sends nothing for {@code readTimeout}; progress goes
 * to {@code listener}; {@code freeSpace} says how many bytes a directory can take.
 */
public record DownloadOptions(Path directory, String sha256, int maxAttempts, Duration backoff, Duration connectTimeout,
        Duration readTimeout, ProgressListener listener, FreeSpace freeSpace) {

    /** Usable bytes in a directory: the file store's, or a smaller disk in tests. */
    @FunctionalInterface
    public interface FreeSpace {
        FreeSpace DISK = dir -> Files.getFileStore(dir).getUsableSpace();

        long usable(Path dir) throws IOException;
    }

    /** @throws IllegalArgumentException naming the parameter and the value found when one is out of range */
    public DownloadOptions {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(freeSpace, "freeSpace");
        if (sha256 != null) {
            sha256 = parseSha256(sha256);
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, found " + maxAttempts);
        }
        if (backoff.isNegative()) {
            throw new IllegalArgumentException("backoff must be >= 0, found " + backoff);
        }
        if (!connectTimeout.isPositive() || !readTimeout.isPositive()) {
            throw new IllegalArgumentException("timeouts must be > 0, found " + connectTimeout + " and " + readTimeout);
        }
    }

    /** Into the cache directory, no checksum, 5 attempts 1, 2, 4 and 8 s apart, 30 s to connect, 60 s of silence at most. */
    public static DownloadOptions defaults() {
        return new DownloadOptions(CacheDirectory.resolve(), null, 5, Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(60), ProgressListener.NONE, FreeSpace.DISK);
    }

    /** {@code hex} in lower case. @throws IllegalArgumentException unless it is 64 hex digits */
    public static String parseSha256(String hex) {
        String lower = hex.strip().toLowerCase(Locale.ROOT);
        if (lower.length() != 64 || !lower.chars().allMatch(HexFormat::isHexDigit)) {
            throw new IllegalArgumentException("a SHA-256 is 64 hex digits, found '" + hex + "'");
        }
        return lower;
    }

    public DownloadOptions withDirectory(Path directory) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }

    public DownloadOptions withSha256(String sha256) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }

    public DownloadOptions withRetries(int maxAttempts, Duration backoff) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }

    public DownloadOptions withTimeouts(Duration connectTimeout, Duration readTimeout) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }

    public DownloadOptions withListener(ProgressListener listener) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }

    public DownloadOptions withFreeSpace(FreeSpace freeSpace) {
        return new DownloadOptions(directory, sha256, maxAttempts, backoff, connectTimeout, readTimeout, listener, freeSpace);
    }
}
