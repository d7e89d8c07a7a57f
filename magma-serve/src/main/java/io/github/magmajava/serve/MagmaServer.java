package io.github.magmajava.serve;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.Magma;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * {@code magma serve}: MAGMA behind an OpenAI-style HTTP API on Jetty 12, handlers on virtual
 * threads. It listens at once and loads the model in the background ({@code GET /health} says
 * when it is ready); requests run on the model's batched generation loop, so those in flight
 * share decode steps. Routes: {@code POST /v1/chat/completions}, {@code GET /v1/models},
 * {@code GET /health}, {@code GET /metrics}, {@code GET /} (the page). docs/serve.md.
 */
public final class MagmaServer implements AutoCloseable {
    private final ServeOptions options;
    private final Server jetty;
    private final ServerConnector connector;
    private final ObjectMapper json;
    private final ServerMetrics metrics;
    /** Places for requests generating or waiting: maxConcurrent + queue; none left means 429. */
    private final Semaphore places;
    private final CompletableFuture<Magma> model = new CompletableFuture<>();
    private final byte[] page;
    private volatile ChatCompletions completions;
    private volatile boolean stopping;

    private MagmaServer(ServeOptions options) throws IOException {
        this.options = options;
        this.places = new Semaphore(options.maxConcurrent() + options.queue());
        this.json = requestMapper(options);
        this.metrics = new ServerMetrics(() -> model.isDone() && !model.isCompletedExceptionally() ? model.join().workload()
                : new Magma.Workload(0, 0));
        try (InputStream in = MagmaServer.class.getResourceAsStream("index.html")) {
            this.page = Objects.requireNonNull(in, "the page index.html is missing from the jar").readAllBytes();
        }
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("magma-http");
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        this.jetty = new Server(threads);
        this.connector = new ServerConnector(jetty);
        connector.setHost(options.host());
        connector.setPort(options.port());
        jetty.addConnector(connector);
        jetty.setHandler(new Router());
        jetty.setStopTimeout(options.shutdownGrace().toMillis());
    }

    /**
     * Listens on the options' host and port now, and loads the model with {@code load} in the
     * background; {@link #awaitModel()} waits for it.
     *
     * @throws IOException when the port cannot be bound (in use, no permission), naming it
     */
    public static MagmaServer start(ServeOptions options, Callable<Magma> load) throws IOException {
        MagmaServer server = new MagmaServer(options);
        try {
            server.jetty.start();
        } catch (Exception e) {
            server.jetty.destroy();
            throw new IOException("cannot listen on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        Thread.ofPlatform().name("magma-load").daemon().start(() -> {
            try {
                Magma magma = load.call();
                server.completions = new ChatCompletions(magma, server.options, server.json, server.metrics);
                server.model.complete(magma);
            } catch (Throwable t) {
                server.model.completeExceptionally(t);
            }
        });
        return server;
    }

    /** The model, once loaded; rethrows what failed to load it. */
    public Magma awaitModel() throws IOException, InterruptedException {
        try {
            return model.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(cause);
        }
    }

    /** The port listened on (the one chosen when the options said 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /**
     * Stops gracefully: health turns to 503 and new requests are refused at once, the
     * generations in flight get up to the options' grace to finish, then those left are ended
     * (their clients get an error), the model is closed and the port released.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (stopping) {
                return;
            }
            stopping = true;
        }
        int all = options.maxConcurrent() + options.queue();
        boolean drained = false;
        try {
            drained = places.tryAcquire(all, options.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (model.isDone() && !model.isCompletedExceptionally()) {
                model.join().close();
            }
        } finally {
            if (drained) {
                places.release(all);
            }
            try {
                jetty.stop();
            } catch (Exception e) {
                throw new IllegalStateException("stopping the HTTP server: " + e, e);
            }
        }
    }

    /** One handler for every route: few enough that a table of ifs reads better than a framework's router. */
    private final class Router extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            String method = request.getMethod();
            String endpoint = switch (path) {
                case "/v1/chat/completions", "/v1/models", "/health", "/metrics", "/" -> path;
                default -> "other";
            };
            int status;
            try {
                status = switch (path) {
                    case "/v1/chat/completions" -> allow(method, "POST", () -> chat(request, response, callback));
                    case "/v1/models" -> allow(method, "GET", () -> models(response, callback));
                    case "/health" -> allow(method, "GET", () -> health(response, callback));
                    case "/metrics" -> allow(method, "GET", () -> send(response, callback, 200, ServerMetrics.contentType(),
                            metrics.scrape()));
                    case "/", "/index.html" -> allow(method, "GET", () -> send(response, callback, 200, "text/html; charset=utf-8",
                            page));
                    default -> throw new ApiError(404, "invalid_request_error", null, "not_found", "no route " + path
                            + " (POST /v1/chat/completions, GET /v1/models, /health, /metrics, /)", 0);
                };
            } catch (ApiError e) {
                status = error(response, callback, e);
            } catch (IOException | UncheckedIOException e) {
                status = 499; // the client went away while we answered
                callback.failed(e);
            } catch (RuntimeException e) {
                status = error(response, callback, new ApiError(500, "server_error", null, null, e.toString(), 0));
            }
            metrics.request(endpoint, status);
            return true;
        }
    }

    @FunctionalInterface
    private interface Route {
        int run() throws IOException;
    }

    private static int allow(String method, String expected, Route route) throws IOException {
        if (!method.equals(expected)) {
            throw new ApiError(405, "invalid_request_error", null, "method_not_allowed", method + " is not allowed here; use "
                    + expected, 0);
        }
        return route.run();
    }

    private int chat(Request request, Response response, Callback callback) throws IOException {
        if (stopping) {
            throw new ApiError(503, "server_error", null, "shutting_down", "the server is shutting down", 5);
        }
        ChatCompletions ready = completions;
        if (ready == null) {
            throw new ApiError(503, "server_error", null, "loading", "the model is still loading (GET /health says when it is ready)",
                    5);
        }
        long arrived = System.nanoTime();
        JsonNode body = readJson(request);
        if (!places.tryAcquire()) {
            Magma.Workload load = ready.workload();
            throw new ApiError(429, "rate_limit_error", null, "queue_full", "the server is busy: " + load.running()
                    + " generations running and " + options.queue() + " waiting, the most it takes; retry later",
                    retryAfter(load));
        }
        try {
            return ready.answer(body, arrived, response, callback);
        } finally {
            places.release();
        }
    }

    /** Seconds until a place is likely free: the mean request time so far, times the queue ahead, over the places running. */
    private long retryAfter(Magma.Workload load) {
        double mean = metrics.meanRequestSeconds();
        double estimate = mean * (1 + load.waiting()) / Math.max(1, options.maxConcurrent());
        return Math.max(1, Math.min(600, (long) Math.ceil(estimate)));
    }

    private JsonNode readJson(Request request) throws IOException {
        long declared = request.getLength();
        byte[] bytes;
        try (InputStream in = Content.Source.asInputStream(request)) {
            if (declared > options.maxBodyBytes()) {
                // A client sends its whole body before it reads: answering and closing at once can reset the
                // connection under the 413. A body up to the limit again is read and dropped first; a larger
                // one is not worth reading, and such a client may see the reset instead.
                if (declared <= 2 * options.maxBodyBytes()) {
                    in.skipNBytes(declared);
                }
                throw tooLarge(declared);
            }
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, options.maxBodyBytes() + 1));
        }
        if (bytes.length > options.maxBodyBytes()) {
            throw tooLarge(bytes.length);
        }
        return parseBody(json, bytes);
    }

    /** The mapper for request bodies: a data: URL is one long string, so it may be as long as a body may be. */
    static ObjectMapper requestMapper(ServeOptions options) {
        ObjectMapper json = new ObjectMapper();
        json.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxStringLength((int) Math.min(Integer.MAX_VALUE, options.maxBodyBytes())).maxNestingDepth(64).build());
        return json;
    }

    /** The body's JSON tree, or a 400 for a body that is not JSON. */
    static JsonNode parseBody(ObjectMapper json, byte[] bytes) {
        try {
            return json.readTree(bytes);
        } catch (JsonProcessingException e) {
            String reason = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:[^]]*\\][^)]*\\)", "");
            // A broken limit (nesting deeper than 64) has no location: it was a NullPointerException, a 500.
            JsonLocation at = e.getLocation();
            throw ApiError.invalid(null, "invalid_json", "the body is not valid JSON: " + reason
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            // Not I/O (the bytes are in memory): Jackson's encoding detection, e.g. a body it takes for
            // UTF-32 holding a code point above U+10FFFF (CharConversionException). Before, this was the
            // "client went away" path: no answer at all.
            throw ApiError.invalid(null, "invalid_json", "the body is not valid JSON: " + e.getMessage());
        }
    }

    private ApiError tooLarge(long bytes) {
        return new ApiError(413, "invalid_request_error", null, "body_too_large", "the request body has " + bytes
                + " bytes, more than this server's limit of " + options.maxBodyBytes() + " (--max-body-mb)", 0);
    }

    private int models(Response response, Callback callback) {
        Magma magma = readyModel();
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        ObjectNode m = root.putArray("data").addObject();
        m.put("id", magma.config().name());
        m.put("object", "model");
        m.put("created", 0);
        m.put("owned_by", "magma-java");
        return send(response, callback, 200, "application/json", bytes(root));
    }

    private int health(Response response, Callback callback) {
        ObjectNode root = json.createObjectNode();
        int status;
        if (stopping) {
            root.put("status", "stopping");
            status = 503;
        } else if (!model.isDone()) {
            root.put("status", "loading");
            status = 503;
        } else if (model.isCompletedExceptionally()) {
            root.put("status", "failed");
            status = 503;
        } else {
            Magma.Workload load = model.join().workload();
            root.put("status", "ok");
            root.put("model", model.join().config().name());
            root.put("running", load.running());
            root.put("waiting", load.waiting());
            root.put("requests", options.maxConcurrent() + options.queue() - places.availablePermits());
            status = 200;
        }
        return send(response, callback, status, "application/json", bytes(root));
    }

    private Magma readyModel() {
        if (!model.isDone() || model.isCompletedExceptionally()) {
            throw new ApiError(503, "server_error", null, "loading", "the model is not loaded (GET /health)", 5);
        }
        return model.join();
    }

    private byte[] bytes(JsonNode node) {
        try {
            return json.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static int send(Response response, Callback callback, int status, String contentType, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.write(true, ByteBuffer.wrap(body), callback);
        return status;
    }

    private int error(Response response, Callback callback, ApiError e) {
        if (response.isCommitted()) {
            callback.failed(e);
            return e.status;
        }
        if (e.retryAfter > 0) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(e.retryAfter));
        }
        return send(response, callback, e.status, "application/json", bytes(e.toJson()));
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
