package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code magma download} as real processes: one killed mid-transfer and resumed by the next, two at once on one file. */
class DownloadProcessTest {
    private static final Path MODEL = Path.of(System.getProperty("magma.fixtures"), "magma/tiny_a/model.pt");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    @TempDir
    Path dir;

    private HttpServer server;
    private ExecutorService threads;
    private final List<String> ranges = new CopyOnWriteArrayList<>();

    /** The tiny checkpoint in 64 KiB pieces 20 ms apart (about 2.5 s in all), ranges honoured. */
    @BeforeEach
    void serveSlowly() throws IOException {
        byte[] model = Files.readAllBytes(MODEL);
        threads = Executors.newCachedThreadPool();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            String range = exchange.getRequestHeaders().getFirst("Range");
            ranges.add(String.valueOf(range));
            try (exchange) {
                Matcher m = range == null ? null : RANGE.matcher(range);
                int from = m != null && m.matches() && "\"tiny_a\"".equals(exchange.getRequestHeaders().getFirst("If-Range"))
                        ? Integer.parseInt(m.group(1)) : 0;
                exchange.getResponseHeaders().set("ETag", "\"tiny_a\"");
                if (from > 0) {
                    exchange.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (model.length - 1) + "/" + model.length);
                }
                exchange.sendResponseHeaders(from > 0 ? 206 : 200, model.length - from);
                try (OutputStream body = exchange.getResponseBody()) {
                    for (int at = from; at < model.length; at += 1 << 16) {
                        body.write(model, at, Math.min(1 << 16, model.length - at));
                        body.flush();
                        Thread.sleep(20);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        threads.shutdownNow();
    }

    private Process start(Path log) throws IOException {
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/model.pt";
        return CliProcessTest.launcher("download", url, "--to", dir.resolve("to").toString()).redirectOutput(log.toFile())
                .redirectError(log.resolveSibling(log.getFileName() + ".err").toFile()).start();
    }

    @Test
    void aKilledDownloadResumesInTheNextProcess() throws Exception {
        Path part = dir.resolve("to/model.pt.part");
        Process first = start(dir.resolve("first"));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!(Files.isRegularFile(part) && Files.size(part) > 1 << 20) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        // The launcher is a shell script: the JVM is its child.
        first.descendants().forEach(ProcessHandle::destroyForcibly);
        first.destroyForcibly();
        first.waitFor();
        assertThat(dir.resolve("to/model.pt")).doesNotExist();
        long kept = Files.size(part);
        assertThat(kept).isPositive();

        Process second = start(dir.resolve("second"));
        assertThat(CliProcessTest.waitFor(second)).as(Files.readString(dir.resolve("second.err"))).isZero();
        assertThat(Files.readString(dir.resolve("second"), StandardCharsets.UTF_8).strip()).isEqualTo(dir.resolve("to/model.pt").toString());
        assertThat(dir.resolve("to/model.pt")).hasSameBinaryContentAs(MODEL);
        assertThat(part).doesNotExist();
        // The second process named the file with a plain request, then asked for what the first had not written.
        assertThat(ranges).hasSize(3);
        long resumedAt = Long.parseLong(ranges.get(2).replaceAll("\\D", ""));
        assertThat(resumedAt).isPositive().isLessThanOrEqualTo(kept);
        assertThat(Files.readString(dir.resolve("second.err"))).contains("(resuming at ");
    }

    @Test
    void twoProcessesDownloadingOneFileShareIt() throws Exception {
        Process a = start(dir.resolve("a"));
        Process b = start(dir.resolve("b"));
        assertThat(CliProcessTest.waitFor(a)).as(Files.readString(dir.resolve("a.err"))).isZero();
        assertThat(CliProcessTest.waitFor(b)).as(Files.readString(dir.resolve("b.err"))).isZero();
        String path = dir.resolve("to/model.pt").toString();
        assertThat(Files.readString(dir.resolve("a")).strip()).isEqualTo(path);
        assertThat(Files.readString(dir.resolve("b")).strip()).isEqualTo(path);
        assertThat(dir.resolve("to/model.pt")).hasSameBinaryContentAs(MODEL);
        assertThat(dir.resolve("to/model.pt.part")).doesNotExist();
    }
}
