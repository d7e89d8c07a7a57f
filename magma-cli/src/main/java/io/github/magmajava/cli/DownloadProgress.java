package io.github.magmajava.cli;

import io.github.magmajava.download.DownloadException;
import io.github.magmajava.download.ProgressListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A download's progress on standard error: on a terminal one line redrawn with {@code \r} (bytes,
 * percent, rate, time left); elsewhere (a log, a pipe) a plain line every {@value #PLAIN_SECONDS}
 * seconds or every {@value #PLAIN_PERCENT} %, whichever comes first.
 */
final class DownloadProgress implements ProgressListener {
    static final int PLAIN_SECONDS = 5;
    static final int PLAIN_PERCENT = 5;

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier nanoTime;
    private boolean barShown;
    private long lastLine;
    private long lastPercent;

    DownloadProgress(PrintWriter err, boolean terminal, LongSupplier nanoTime) {
        this.err = err;
        this.terminal = terminal;
        this.nanoTime = nanoTime;
    }

    /** On standard error, redrawn when this process has a terminal. */
    static DownloadProgress forStderr(PrintWriter err) {
        return new DownloadProgress(err, System.console() != null && System.console().isTerminal(), System::nanoTime);
    }

    @Override
    public void started(URI url, Path file, long from, long total) {
        line("download: " + url + " -> " + file + (from > 0 ? " (resuming at " + CliFormat.bytes(from) + ")" : ""));
        lastLine = nanoTime.getAsLong();
        lastPercent = percent(from, total);
    }

    @Override
    public void progress(long bytes, long total, double bytesPerSecond) {
        String status = status(bytes, total, bytesPerSecond);
        if (terminal) {
            err.print("\r" + status + "\u001b[K");
            err.flush();
            barShown = true;
            return;
        }
        long now = nanoTime.getAsLong();
        long percent = percent(bytes, total);
        boolean done = total >= 0 && bytes == total;
        if (done || now - lastLine >= Duration.ofSeconds(PLAIN_SECONDS).toNanos() || percent >= lastPercent + PLAIN_PERCENT) {
            err.println(status);
            lastLine = now;
            lastPercent = percent;
        }
    }

    @Override
    public void waiting(Path file) {
        line("download: another download of " + file + " is running; waiting for it");
    }

    @Override
    public void retrying(int attempt, Duration delay, IOException cause) {
        line("download: attempt " + attempt + " failed (" + DownloadException.describe(cause) + "); retrying in " + seconds(delay.toMillis() / 1000.0));
    }

    /** Ends the redrawn line, if one is shown. */
    void finish() {
        if (barShown) {
            err.println();
            barShown = false;
        }
        err.flush();
    }

    private void line(String text) {
        finish();
        err.println(text);
        err.flush();
    }

    /** {@code 1.20 GiB / 5.80 GiB  21%  35.20 MiB/s  2m10s left}; what is unknown left out. */
    static String status(long bytes, long total, double bytesPerSecond) {
        StringBuilder s = new StringBuilder("  ").append(CliFormat.bytes(bytes));
        if (total >= 0) {
            s.append(" / ").append(CliFormat.bytes(total)).append(String.format("  %3d%%", percent(bytes, total)));
        }
        s.append("  ").append(CliFormat.bytes((long) bytesPerSecond)).append("/s");
        if (total >= 0 && bytesPerSecond > 0 && bytes < total) {
            s.append("  ").append(seconds((total - bytes) / bytesPerSecond)).append(" left");
        }
        return s.toString();
    }

    private static long percent(long bytes, long total) {
        return total > 0 ? bytes * 100 / total : 0;
    }

    private static String seconds(double seconds) {
        long s = Math.round(Math.ceil(seconds));
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m" + String.format("%02ds", s % 60);
        }
        return s / 3600 + "h" + String.format("%02dm", s % 3600 / 60);
    }
}
