package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DownloadProgressTest {
    private static final long MIB = 1 << 20;

    @Test
    void theStatusLine() {
        assertThat(DownloadProgress.status(512 * MIB, 2048 * MIB, 8 * MIB)).isEqualTo("  512.00 MiB / 2.00 GiB   25%  8.00 MiB/s  3m12s left");
        assertThat(DownloadProgress.status(3 * MIB, -1, 0)).isEqualTo("  3.00 MiB  0 B/s");
    }

    @Test
    void aTerminalGetsOneRedrawnLine() {
        StringWriter text = new StringWriter();
        DownloadProgress p = new DownloadProgress(new PrintWriter(text), true, System::nanoTime);
        p.started(URI.create("http://host/model.pt"), Path.of("/c/model.pt"), 0, 100 * MIB);
        p.progress(10 * MIB, 100 * MIB, MIB);
        p.progress(20 * MIB, 100 * MIB, MIB);
        p.retrying(1, Duration.ofSeconds(2), new java.io.IOException("closed"));
        p.progress(100 * MIB, 100 * MIB, MIB);
        p.finish();
        assertThat(text.toString().split("\n")).containsExactly(
                "download: http://host/model.pt -> /c/model.pt",
                "\r  10.00 MiB / 100.00 MiB   10%  1.00 MiB/s  1m30s left\u001b[K\r  20.00 MiB / 100.00 MiB   20%  1.00 MiB/s  1m20s left\u001b[K",
                "download: attempt 1 failed (closed); retrying in 2s",
                "\r  100.00 MiB / 100.00 MiB  100%  1.00 MiB/s\u001b[K");
    }

    @Test
    void elsewhereAPlainLineEveryFewSecondsOrPercent() {
        StringWriter text = new StringWriter();
        AtomicLong now = new AtomicLong();
        DownloadProgress p = new DownloadProgress(new PrintWriter(text), false, now::get);
        p.started(URI.create("http://host/model.pt"), Path.of("/c/model.pt"), 0, 1000 * MIB);
        for (int mib = 1; mib <= 1000; mib++) {
            now.addAndGet(Duration.ofMillis(10).toNanos());
            p.progress(mib * MIB, 1000 * MIB, 100 * MIB);
        }
        p.finish();
        String[] lines = text.toString().split("\n");
        // A line per 5 % (20), the last one at 100 %, no carriage returns.
        assertThat(lines).hasSize(1 + 20);
        assertThat(lines[20]).contains("100%");
        assertThat(text.toString()).doesNotContain("\r");

        StringWriter slow = new StringWriter();
        now.set(0);
        p = new DownloadProgress(new PrintWriter(slow), false, now::get);
        p.started(URI.create("http://host/model.pt"), Path.of("/c/model.pt"), 0, -1);
        for (int s = 1; s <= 20; s++) {
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            p.progress(s * MIB, -1, MIB);
        }
        assertThat(slow.toString().split("\n")).hasSize(1 + 4);
    }
}
