package io.github.magmajava.download;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.download.TestServer.Ranges;
import io.github.magmajava.testing.Fixtures;
import java.io.IOException;
import java.net.ProxySelector;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DownloaderTest {
    private static byte[] data;
    private static byte[] other;
    private static int half;

    @TempDir
    Path dir;

    @BeforeAll
    static void readFixtures() throws IOException {
        data = Files.readAllBytes(Fixtures.path("magma/tiny_a/model.pt"));
        other = Files.readAllBytes(Fixtures.path("magma/tiny_b/model.pt"));
        half = data.length / 2;
    }

    private DownloadOptions options() {
        return DownloadOptions.defaults().withDirectory(dir).withRetries(3, Duration.ofMillis(10));
    }

    private static Path download(DownloadOptions options, URI url) throws IOException {
        return new Downloader(options, ProxySelector.of(null)).download(url);
    }

    private Path target() {
        return dir.resolve("model.pt");
    }

    /** Nothing at the final path, and no part unless {@code partLeft}. */
    private void assertNothingAtTheFinalPath(boolean partLeft) {
        assertThat(target()).doesNotExist();
        if (!partLeft) {
            assertThat(PartialDownload.partFile(target())).doesNotExist();
            assertThat(PartialDownload.sidecarFile(target())).doesNotExist();
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void downloadsTheWholeFileAndThenFindsItThere() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1))) {
            Path file = download(options().withSha256(sha256(data)), server.uri("/files/model.pt"));
            assertThat(file).isEqualTo(target()).hasBinaryContent(data);
            assertThat(PartialDownload.partFile(file)).doesNotExist();
            assertThat(PartialDownload.sidecarFile(file)).doesNotExist();

            assertThat(download(options(), server.uri("/files/model.pt"))).isEqualTo(file).hasBinaryContent(data);
            assertThat(server.requests()).hasSize(2);
        }
    }

    @Test
    void aDroppedConnectionResumesWithARange() throws Exception {
        List<Long> starts = new ArrayList<>();
        ProgressListener listener = new ProgressListener() {
            @Override
            public void progress(long bytes, long total, double bytesPerSecond) {
                assertThat(total).isEqualTo(data.length);
            }

            @Override
            public void started(URI url, Path file, long from, long total) {
                starts.add(from);
            }
        };
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, i == 0 ? half : -1))) {
            Path file = download(options().withSha256(sha256(data)).withListener(listener), server.uri("/model.pt"));
            assertThat(file).hasBinaryContent(data);
            assertThat(server.requests()).hasSize(2);
            assertThat(server.requests().get(0).range()).isNull();
            assertThat(server.requests().get(1).range()).isEqualTo("bytes=" + half + "-");
            assertThat(server.requests().get(1).ifRange()).isEqualTo("\"v1\"");
            assertThat(starts).containsExactly(0L, (long) half);
        }
    }

    @Test
    void aPartLeftByAnEarlierRunResumes() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, i == 0 ? half : -1))) {
            assertThatThrownBy(() -> download(options().withRetries(1, Duration.ZERO), server.uri("/model.pt")))
                    .isInstanceOf(DownloadException.class).hasMessageStartingWith("GET " + server.uri("/model.pt"));
            assertNothingAtTheFinalPath(true);
            assertThat(PartialDownload.partFile(target())).hasSize(half);

            assertThat(download(options(), server.uri("/model.pt"))).hasBinaryContent(data);
            // The first request names the file; the second asks for the rest.
            assertThat(server.requests()).extracting(TestServer.Request::range).containsExactly(null, null, "bytes=" + half + "-");
        }
    }

    @Test
    void aServerThatIgnoresTheRangeIsReadFromTheStart() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IGNORED, i == 0 ? half : -1))) {
            assertThat(download(options().withSha256(sha256(data)), server.uri("/model.pt"))).hasBinaryContent(data);
            assertThat(server.requests()).extracting(TestServer.Request::range).containsExactly(null, "bytes=" + half + "-");
        }
    }

    @Test
    void aFileChangedOnTheServerIsFetchedAgain() throws Exception {
        // As HTTP says: If-Range no longer matches, the server sends the whole new file.
        try (TestServer server = new TestServer((ex, i) -> {
            if (i == 0) {
                TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, half);
            } else {
                TestServer.sendFile(ex, other, "\"v2\"", Ranges.IF_RANGE, -1);
            }
        })) {
            assertThat(download(options(), server.uri("/model.pt"))).hasBinaryContent(other);
            assertThat(server.requests()).extracting(TestServer.Request::ifRange).containsExactly(null, "\"v1\"");
        }
        // A server that answers the range whatever If-Range says: the new ETag is seen, and the file asked for again.
        Files.delete(target());
        try (TestServer server = new TestServer((ex, i) -> {
            if (i == 0) {
                TestServer.sendFile(ex, data, "\"v1\"", Ranges.NAIVE, half);
            } else {
                TestServer.sendFile(ex, other, "\"v2\"", Ranges.NAIVE, -1);
            }
        })) {
            assertThat(download(options(), server.uri("/model.pt"))).hasBinaryContent(other);
            assertThat(server.requests()).extracting(TestServer.Request::range).containsExactly(null, "bytes=" + half + "-", null);
        }
    }

    @Test
    void redirectsAreFollowedAndTheFinalUrlNamesTheFile() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> {
            switch (ex.getRequestURI().getPath()) {
                case "/short" -> TestServer.sendStatus(ex, 302, "Location", "http://127.0.0.1:" + ex.getLocalAddress().getPort() + "/moved/here");
                case "/moved/here" -> TestServer.sendStatus(ex, 301, "Location", "../files/model.pt");
                case "/loop" -> TestServer.sendStatus(ex, 307, "Location", "/loop");
                case "/ftp" -> TestServer.sendStatus(ex, 302, "Location", "ftp://files.example.com/model.pt");
                default -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1);
            }
        })) {
            assertThat(download(options(), server.uri("/short"))).isEqualTo(target()).hasBinaryContent(data);
            assertThat(server.requests()).extracting(TestServer.Request::path).containsExactly("/short", "/moved/here", "/files/model.pt");

            assertThatThrownBy(() -> download(options(), server.uri("/loop"))).isInstanceOf(DownloadException.class)
                    .hasMessageContaining("more than 10 redirects");
            assertThatThrownBy(() -> download(options(), server.uri("/ftp"))).isInstanceOf(DownloadException.class)
                    .hasMessage("GET " + server.uri("/ftp") + ": redirected to ftp://files.example.com/model.pt, not an http(s) URL");
        }
    }

    /** Google Drive's virus-scan page (its download-form shape), served by a loopback "Drive". */
    @Test
    void googleDrivesConfirmationPageIsFollowed() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> {
            String path = ex.getRequestURI().getPath();
            String query = ex.getRequestURI().getRawQuery();
            if (path.equals("/uc") && !query.contains("confirm")) {
                byte[] page = ("<!DOCTYPE html><html><body><p>Google Drive can't scan this file for viruses.</p>"
                        + "<form id=\"download-form\" action=\"http://127.0.0.1:" + ex.getLocalAddress().getPort()
                        + "/download\" method=\"get\"><input type=\"submit\" value=\"Download anyway\"/>"
                        + "<input type=\"hidden\" name=\"id\" value=\"F1le\"><input type=\"hidden\" name=\"export\" value=\"download\">"
                        + "<input type=\"hidden\" name=\"confirm\" value=\"t\"><input type=\"hidden\" name=\"uuid\" value=\"a-b&amp;c\">"
                        + "</form></body></html>").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                ex.sendResponseHeaders(200, page.length);
                ex.getResponseBody().write(page);
            } else if (path.equals("/download") && "id=F1le&export=download&confirm=t&uuid=a-b%26c".equals(query)) {
                ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"model.pt\"");
                TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1);
            } else {
                TestServer.sendStatus(ex, 404);
            }
        })) {
            Downloader drive = new Downloader(options(), ProxySelector.of(null), url -> true);
            assertThat(drive.download(server.uri("/uc?export=download&id=F1le"))).isEqualTo(target()).hasBinaryContent(data);
            assertThat(server.requests()).extracting(TestServer.Request::path).containsExactly("/uc", "/download");
        }
    }

    @Test
    void confirmationPagesInDrivesThreeForms() {
        URI page = URI.create("https://drive.google.com/uc?export=download&id=X");
        assertThat(DriveConfirmation.isDrive(page)).isTrue();
        assertThat(DriveConfirmation.isDrive(URI.create("https://example.com/uc"))).isFalse();
        assertThat(DriveConfirmation.of(page, "<a id=\"uc-download-link\" href=\"/uc?export=download&amp;confirm=AbC1&amp;id=X\">"))
                .contains(URI.create("https://drive.google.com/uc?export=download&confirm=AbC1&id=X"));
        assertThat(DriveConfirmation.of(page, "...&confirm=Zy_9&amp;..."))
                .contains(URI.create("https://drive.google.com/uc?export=download&id=X&confirm=Zy_9"));
        assertThat(DriveConfirmation.of(page, "<html>Sorry, you can't view or download this file at this time.</html>")).isEmpty();
        // attributes in another order, another form before it
        assertThat(DriveConfirmation.of(page, "<form action=\"/search\"></form><form method=\"get\" action=\"https://drive.usercontent.google.com/download\""
                + " id=\"download-form\"><input type=\"hidden\" name=\"id\" value=\"X\"><input type=\"hidden\" name=\"confirm\" value=\"t\"></form>"))
                .contains(URI.create("https://drive.usercontent.google.com/download?id=X&confirm=t"));
    }

    @Test
    void notFoundIsOneLineAndNotRetried() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendStatus(ex, 404))) {
            assertThatThrownBy(() -> download(options(), server.uri("/model.pt"))).isInstanceOf(DownloadException.class)
                    .hasMessage("GET " + server.uri("/model.pt") + ": HTTP 404 (not found: check the URL)");
            assertThat(server.requests()).hasSize(1);
            assertNothingAtTheFinalPath(false);
        }
    }

    @Test
    void serverErrorsAreRetried() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> {
            if (i == 0) {
                TestServer.sendStatus(ex, 503);
            } else {
                TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1);
            }
        })) {
            assertThat(download(options(), server.uri("/model.pt"))).hasBinaryContent(data);
            assertThat(server.requests()).hasSize(2);
        }
        Files.delete(target());
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendStatus(ex, 503))) {
            assertThatThrownBy(() -> download(options(), server.uri("/model.pt"))).isInstanceOf(DownloadException.class)
                    .hasMessage("GET " + server.uri("/model.pt") + ": HTTP 503 (gave up after 3 attempts)");
            assertThat(server.requests()).hasSize(3);
            assertNothingAtTheFinalPath(false);
        }
    }

    @Test
    void anHtmlPageIsNotTheCheckpoint() throws Exception {
        byte[] page = "\n<!DOCTYPE html><html><body>Google Drive can't scan this file for viruses.</body></html>".getBytes(StandardCharsets.UTF_8);
        for (String type : new String[] {"text/html; charset=utf-8", "application/octet-stream"}) {
            try (TestServer server = new TestServer((ex, i) -> {
                ex.getResponseHeaders().set("Content-Type", type);
                ex.sendResponseHeaders(200, page.length);
                ex.getResponseBody().write(page);
            })) {
                assertThatThrownBy(() -> download(options(), server.uri("/model.pt"))).isInstanceOf(DownloadException.class)
                        .hasMessageContaining("HTML page").hasMessageContaining("interstitial").hasMessageNotContaining("\n");
                assertThat(server.requests()).hasSize(1);
                assertNothingAtTheFinalPath(false);
            }
        }
    }

    @Test
    void aWrongSha256DeletesTheDownload() throws Exception {
        String wrong = "0".repeat(64);
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1))) {
            assertThatThrownBy(() -> download(options().withSha256(wrong), server.uri("/model.pt"))).isInstanceOf(DownloadException.class)
                    .hasMessageContaining("SHA-256 mismatch").hasMessageContaining("expected " + wrong)
                    .hasMessageContaining("got " + sha256(data));
            assertThat(server.requests()).hasSize(1);
            assertNothingAtTheFinalPath(false);
        }
    }

    @Test
    void notEnoughFreeSpaceIsRefusedBeforeWriting() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1))) {
            assertThatThrownBy(() -> download(options().withFreeSpace(d -> 1000), server.uri("/model.pt")))
                    .isInstanceOf(DownloadException.class)
                    .hasMessageContaining("needs " + data.length + " more bytes").hasMessageContaining("has 1000 free");
            assertThat(server.requests()).hasSize(1);
            assertNothingAtTheFinalPath(false);
        }
    }

    @Test
    void aFailedWriteIsOneLine() throws Exception {
        Files.createDirectory(PartialDownload.partFile(target()));
        try (TestServer server = new TestServer((ex, i) -> TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, -1))) {
            assertThatThrownBy(() -> download(options(), server.uri("/model.pt"))).isInstanceOf(DownloadException.class)
                    .hasMessageStartingWith(PartialDownload.partFile(target()) + ": cannot write").hasMessageNotContaining("\n");
            assertThat(server.requests()).hasSize(1);
            assertThat(target()).doesNotExist();
        }
    }

    @Test
    void aSilentServerTimesOutAndTheDownloadResumes() throws Exception {
        try (TestServer server = new TestServer((ex, i) -> {
            TestServer.sendFile(ex, data, "\"v1\"", Ranges.IF_RANGE, i == 0 ? half : -1);
            if (i == 0) {
                Thread.sleep(3000);
            }
        })) {
            DownloadOptions options = options().withTimeouts(Duration.ofSeconds(5), Duration.ofMillis(300));
            assertThat(download(options, server.uri("/model.pt"))).hasBinaryContent(data);
            assertThat(server.requests()).extracting(TestServer.Request::range).containsExactly(null, "bytes=" + half + "-");
        }
    }

    @Test
    void twoThreadsDownloadingOneFileShareIt() throws Exception {
        CountDownLatch bothAsked = new CountDownLatch(2);
        AtomicInteger waited = new AtomicInteger();
        try (TestServer server = new TestServer((ex, i) -> {
                bothAsked.countDown();
                bothAsked.await(10, TimeUnit.SECONDS);
                // Slowly, so that the second thread finds the first one writing.
                ex.getResponseHeaders().set("ETag", "\"v1\"");
                ex.sendResponseHeaders(200, data.length);
                for (int at = 0; at < data.length; at += 1 << 16) {
                    ex.getResponseBody().write(data, at, Math.min(1 << 16, data.length - at));
                    Thread.sleep(2);
                }
            });
            ExecutorService threads = Executors.newFixedThreadPool(2)) {
            DownloadOptions options = options().withListener(new ProgressListener() {
                @Override
                public void progress(long bytes, long total, double bytesPerSecond) {
                }

                @Override
                public void waiting(Path file) {
                    waited.incrementAndGet();
                }
            });
            Future<Path> a = threads.submit(() -> download(options, server.uri("/model.pt")));
            Future<Path> b = threads.submit(() -> download(options, server.uri("/model.pt")));
            assertThat(a.get(30, TimeUnit.SECONDS)).isEqualTo(target()).hasBinaryContent(data);
            assertThat(b.get(30, TimeUnit.SECONDS)).isEqualTo(target());
            assertThat(waited).hasValue(1);
            assertThat(server.requests()).hasSize(2);
            assertThat(PartialDownload.partFile(target())).doesNotExist();
        }
    }

    @Test
    void onlyHttpUrls() {
        assertThatThrownBy(() -> download(options(), URI.create("ftp://example.com/model.pt"))).isInstanceOf(DownloadException.class)
                .hasMessage("ftp://example.com/model.pt: not an http(s) URL");
    }
}
