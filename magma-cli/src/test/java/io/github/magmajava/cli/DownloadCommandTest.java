package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.github.magmajava.io.CacheDirectory;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code magma download} and {@code --checkpoint URL}, against a loopback server of the tiny checkpoint. */
class DownloadCommandTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY_A = FIXTURES.resolve("magma/tiny_a");

    @TempDir
    Path dir;

    private HttpServer server;
    private ExecutorService threads;
    private final List<String> paths = new CopyOnWriteArrayList<>();
    private String cacheDirBefore;

    @BeforeEach
    void serveTheTinyCheckpoint() throws IOException {
        byte[] model = Files.readAllBytes(TINY_A.resolve("model.pt"));
        threads = Executors.newCachedThreadPool();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            paths.add(exchange.getRequestURI().getPath());
            try (exchange) {
                if (!exchange.getRequestURI().getPath().equals("/model.pt")) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                exchange.getResponseHeaders().set("ETag", "\"tiny_a\"");
                exchange.sendResponseHeaders(200, model.length);
                try (OutputStream body = exchange.getResponseBody()) {
                    body.write(model);
                }
            }
        });
        server.start();
        cacheDirBefore = System.getProperty(CacheDirectory.PROPERTY);
        System.setProperty(CacheDirectory.PROPERTY, dir.resolve("cache").toString());
    }

    @AfterEach
    void stop() {
        server.stop(0);
        threads.shutdownNow();
        if (cacheDirBefore == null) {
            System.clearProperty(CacheDirectory.PROPERTY);
        } else {
            System.setProperty(CacheDirectory.PROPERTY, cacheDirBefore);
        }
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines[lines.length - 1];
    }

    @Test
    void downloadPrintsThePathLast() throws Exception {
        MagmaCliTest.Result r = MagmaCliTest.run("download", url("/model.pt"), "--to", dir.resolve("to").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path file = Path.of(lastLine(r.out()));
        assertThat(file).isEqualTo(dir.resolve("to/model.pt").toAbsolutePath()).hasSameBinaryContentAs(TINY_A.resolve("model.pt"));
        assertThat(r.err()).contains("download: " + url("/model.pt") + " -> ").contains("100%");

        // Without --to: the URL's folder in the cache directory, found there the next time without a request.
        r = MagmaCliTest.run("download", url("/model.pt"));
        assertThat(r.exit()).as(r.err()).isZero();
        Path cached = Path.of(lastLine(r.out()));
        assertThat(cached).startsWithRaw(dir.resolve("cache/downloads")).hasSameBinaryContentAs(TINY_A.resolve("model.pt"));
        int requests = paths.size();
        assertThat(MagmaCliTest.run("download", url("/model.pt")).out().strip()).isEqualTo(cached.toString());
        assertThat(paths).hasSize(requests);
    }

    @Test
    void errorsAreOneLine() {
        MagmaCliTest.Result r = MagmaCliTest.run("download", url("/missing.pt"), "--to", dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").isEqualTo("magma: GET " + url("/missing.pt") + ": HTTP 404 (not found: check the URL)");
        assertThat(dir.resolve("missing.pt")).doesNotExist();
        assertThat(r.out()).isEmpty();

        r = MagmaCliTest.run("download", url("/model.pt"), "--sha256", "abc123");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("--sha256").contains("64 hex digits");

        r = MagmaCliTest.run("download", "ftp://example.com/model.pt");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("not an http(s) URL");

        r = MagmaCliTest.run("download", url("/model.pt"), "--to", dir.toString(), "--sha256", "0".repeat(64));
        assertThat(r.exit()).isEqualTo(1);
        // Progress lines first; the error is the last line.
        assertThat(lastLine(r.err())).startsWith("magma: " + url("/model.pt") + ": SHA-256 mismatch").contains("expected " + "0".repeat(64));
        assertThat(dir.resolve("model.pt")).doesNotExist();
    }

    @Test
    void generateAndBenchTakeACheckpointUrl() throws Exception {
        Path image = FIXTURES.resolve("image/src/gray16_40x33.png");
        MagmaCliTest.Result bench = MagmaCliTest.run("bench", "--checkpoint", url("/model.pt"), "--model-config",
                TINY_A.resolve("config.json").toString(), "--prompt-tokens", "2", "--new-tokens", "2", "--warmup", "0", "--runs", "1",
                "--bandwidth-mib", "16", "--json");
        assertThat(bench.exit()).as(bench.err()).isZero();
        assertThat(new ObjectMapper().readTree(bench.out()).get("config").asText()).isEqualTo("tiny_a");
        assertThat(paths).containsExactly("/model.pt");

        // Downloaded once: generate finds it in the cache, even with the server gone.
        server.stop(0);
        MagmaCliTest.Result local = MagmaCliTest.run("generate", "--checkpoint", TINY_A.resolve("model.pt").toString(), "--model-config",
                TINY_A.resolve("config.json").toString(), "--image", image.toString(), "--prompt", "A picture of", "--temperature", "0",
                "--max-out-tokens", "3");
        MagmaCliTest.Result remote = MagmaCliTest.run("generate", "--checkpoint", url("/model.pt"), "--model-config",
                TINY_A.resolve("config.json").toString(), "--image", image.toString(), "--prompt", "A picture of", "--temperature", "0",
                "--max-out-tokens", "3");
        assertThat(remote.exit()).as(remote.err()).isZero();
        assertThat(remote.out()).isNotBlank().isEqualTo(local.out());
        assertThat(paths).hasSize(1);
    }

    @Test
    void aMissingCheckpointPathStaysAClearError() {
        MagmaCliTest.Result r = MagmaCliTest.run("generate", "--checkpoint", dir.resolve("absent.pt").toString(), "--model-config",
                TINY_A.resolve("config.json").toString(), "--image", "x.png", "--prompt", "p");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("magma: ").contains("absent.pt");
    }

    @Test
    void theCacheFolderIsPerUrl() {
        assertThat(io.github.magmajava.download.DownloadCache.folder(URI.create("https://a.example/model.pt")))
                .isNotEqualTo(io.github.magmajava.download.DownloadCache.folder(URI.create("https://b.example/model.pt")))
                .startsWithRaw(dir.resolve("cache/downloads"));
        assertThat(CheckpointSource.isUrl("HTTPS://example.com/x")).isTrue();
        assertThat(CheckpointSource.isUrl("/data/model.pt")).isFalse();
    }
}
