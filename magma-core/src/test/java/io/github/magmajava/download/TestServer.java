package io.github.magmajava.download;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A loopback HTTP server for the downloader's tests: every request is recorded, then answered by the test's handler. */
final class TestServer implements AutoCloseable {
    /** A request as it arrived: its number (from 0), path and the headers a resume sends. */
    record Request(int index, String path, String range, String ifRange) {
    }

    @FunctionalInterface
    interface Handler {
        void handle(HttpExchange exchange, int index) throws Exception;
    }

    /** How a file's server treats {@code Range}: ignores it, honours it whatever {@code If-Range} says, or as HTTP says. */
    enum Ranges { IGNORED, NAIVE, IF_RANGE }

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    TestServer(Handler handler) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            int index;
            synchronized (requests) {
                index = requests.size();
                requests.add(new Request(index, exchange.getRequestURI().getPath(), exchange.getRequestHeaders().getFirst("Range"),
                        exchange.getRequestHeaders().getFirst("If-Range")));
            }
            try (exchange) {
                handler.handle(exchange, index);
            } catch (IOException e) {
                // the client went away (as the tests make it do)
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        server.start();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    /**
     * Answers with {@code data} (tagged {@code etag}): 206 from the requested byte where
     * {@code ranges} allows, else 200; the connection is cut after byte {@code cutAt} of the file
     * (-1: never), once the client has the first bytes.
     */
    static void sendFile(HttpExchange exchange, byte[] data, String etag, Ranges ranges, long cutAt) throws IOException {
        String range = exchange.getRequestHeaders().getFirst("Range");
        String ifRange = exchange.getRequestHeaders().getFirst("If-Range");
        Matcher m = range == null ? null : RANGE.matcher(range);
        int from = 0;
        if (m != null && m.matches() && ranges != Ranges.IGNORED && (ranges == Ranges.NAIVE || ifRange == null || ifRange.equals(etag))) {
            from = Integer.parseInt(m.group(1));
            exchange.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        exchange.getResponseHeaders().set("ETag", etag);
        exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
        exchange.sendResponseHeaders(from > 0 ? 206 : 200, data.length - from);
        OutputStream body = exchange.getResponseBody();
        int end = cutAt >= 0 ? (int) cutAt : data.length;
        body.write(data, from, end - from);
        body.flush();
        if (end < data.length) {
            // HttpClient drops the bytes it has not handed out yet when the connection fails.
            sleep(300);
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException();
        }
    }

    /** Answers {@code status} with a short text body and the given extra header (name, value), if any. */
    static void sendStatus(HttpExchange exchange, int status, String... header) throws IOException {
        if (header.length == 2) {
            exchange.getResponseHeaders().set(header[0], header[1]);
        }
        byte[] text = ("status " + status).getBytes();
        exchange.sendResponseHeaders(status, text.length);
        exchange.getResponseBody().write(text);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
