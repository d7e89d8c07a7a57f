package io.github.magmajava.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.Generation;
import io.github.magmajava.Magma;
import io.github.magmajava.StopReason;
import io.github.magmajava.TokenListener;
import io.github.magmajava.image.ImageLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code POST /v1/chat/completions}: the request checked ({@link ChatRequest}), its image's
 * session found or made ({@link ImagePrefixCache}), the question asked on the model's one
 * generation loop, the answer written whole or streamed as server-sent events. A stream whose
 * client goes away fails its next write, which ends the generation and frees its place.
 */
final class ChatCompletions {
    private static final Duration REMOTE_TIMEOUT = Duration.ofSeconds(20);

    private final Magma magma;
    private final ServeOptions options;
    private final ObjectMapper json;
    private final ServerMetrics metrics;
    private final ImagePrefixCache images;
    private final int maxNewTokens;
    private final int imageTokens;

    ChatCompletions(Magma magma, ServeOptions options, ObjectMapper json, ServerMetrics metrics) {
        this.magma = magma;
        this.options = options;
        this.json = json;
        this.metrics = metrics;
        this.images = new ImagePrefixCache(magma, options.maxImagePixels(), options.imageCache());
        this.maxNewTokens = magma.config().transformer().sequenceLength();
        this.imageTokens = magma.config().visual().imageTokens();
    }

    Magma.Workload workload() {
        return magma.workload();
    }

    int answer(JsonNode body, long arrived, Response response, Callback callback) throws IOException {
        ChatRequest request = ChatRequest.parse(body, magma.config().name(), maxNewTokens, options.sampling(), options);
        byte[] image = request.image() != null ? request.image() : fetch(request.imageUrl(), request.imageParam());
        ImagePrefixCache.Found found;
        try {
            found = images.session(image, request.imageParam());
        } catch (ImageLoadException e) {
            throw ApiError.invalid(request.imageParam(), "invalid_image", request.imageParam() + ": " + e.getMessage());
        }
        metrics.imageCache.labelValues(found.hit() ? "hit" : "miss").inc();
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        Timer timer = new Timer(arrived);
        int status = request.stream() ? stream(request, found, id, created, timer, response, callback)
                : whole(request, found, id, created, timer, response, callback);
        metrics.answered((System.nanoTime() - arrived) / 1e9);
        return status;
    }

    private int whole(ChatRequest request, ImagePrefixCache.Found found, String id, long created, Timer timer, Response response,
            Callback callback) {
        Generation g = ask(request, found, timer);
        ObjectNode root = chunk(id, created, "chat.completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", g.text());
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(g.stopReason()));
        root.set("usage", usage(g));
        return MagmaServer.send(response, callback, 200, "application/json", bytes(root));
    }

    private int stream(ChatRequest request, ImagePrefixCache.Found found, String id, long created, Timer timer, Response response,
            Callback callback) {
        Events events = new Events(response, id, created);
        Generation g;
        try {
            g = ask(request, found, timer.then((tokenId, piece) -> events.content(piece)));
        } catch (ApiError e) {
            if (!events.started) {
                throw e;
            }
            events.error(e);
            callback.succeeded();
            return 200;
        } catch (UncheckedIOException e) {
            throw e; // the client is gone: nothing more to tell it
        } catch (RuntimeException e) {
            if (!events.started) {
                throw e;
            }
            // Begun streams end with the error as their last event, not a cut connection.
            events.error(new ApiError(500, "server_error", null, null, e.toString(), 0));
            callback.succeeded();
            return 500;
        }
        events.end(finishReason(g.stopReason()), request.includeUsage() ? usage(g) : null);
        callback.succeeded();
        return 200;
    }

    /** The question on its image's session; the model's refusals as API errors. */
    private Generation ask(ChatRequest request, ImagePrefixCache.Found found, TokenListener listener) {
        try {
            return found.session().ask(request.prompt(), request.options(), request.stop(), listener);
        } catch (IllegalArgumentException e) {
            // The model's only refusal of a checked request: a prompt longer than the context.
            throw ApiError.invalid("messages", "context_length_exceeded", "messages: " + e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiError(503, "server_error", null, "shutting_down", "the server stopped before the answer was complete: "
                    + e.getMessage(), 5);
        }
    }

    private Generation ask(ChatRequest request, ImagePrefixCache.Found found, Timer timer) {
        return ask(request, found, timer.then(TokenListener.NONE));
    }

    /** Records time to first token and the gaps between tokens. */
    private final class Timer {
        private final long arrived;
        private long last;

        Timer(long arrived) {
            this.arrived = arrived;
        }

        TokenListener then(TokenListener next) {
            return (id, piece) -> {
                long now = System.nanoTime();
                if (last == 0) {
                    metrics.firstTokenSeconds.observe((now - arrived) / 1e9);
                } else {
                    metrics.tokenSeconds.observe((now - last) / 1e9);
                }
                last = now;
                next.onToken(id, piece);
            };
        }
    }

    /** The server-sent events of one answer: a chunk per piece of text, the end, {@code [DONE]}. */
    private final class Events {
        private final Response response;
        private final String id;
        private final long created;
        boolean started;

        Events(Response response, String id, long created) {
            this.response = response;
            this.id = id;
            this.created = created;
        }

        void content(String piece) {
            if (!started) {
                start();
            }
            // One event per token, even one whose text waits for the next (an empty piece): clients see the pace.
            ObjectNode delta = json.createObjectNode();
            delta.put("content", piece);
            send(choice(delta, null));
        }

        void end(String finishReason, ObjectNode usage) {
            if (!started) {
                start();
            }
            send(choice(json.createObjectNode(), finishReason));
            if (usage != null) {
                ObjectNode last = chunk(id, created, "chat.completion.chunk");
                last.putArray("choices");
                last.set("usage", usage);
                send(last);
            }
            done();
        }

        void error(ApiError e) {
            send(e.toJson());
            done();
        }

        private void start() {
            started = true;
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            response.getHeaders().put("X-Accel-Buffering", "no");
            ObjectNode delta = json.createObjectNode();
            delta.put("role", "assistant");
            delta.put("content", "");
            send(choice(delta, null));
        }

        private ObjectNode choice(ObjectNode delta, String finishReason) {
            ObjectNode root = chunk(id, created, "chat.completion.chunk");
            ObjectNode choice = root.putArray("choices").addObject();
            choice.put("index", 0);
            choice.set("delta", delta);
            choice.putNull("logprobs");
            if (finishReason == null) {
                choice.putNull("finish_reason");
            } else {
                choice.put("finish_reason", finishReason);
            }
            return root;
        }

        /** One event, written and flushed; a client gone away makes it throw, which ends the generation. */
        private void send(JsonNode event) {
            write("data: " + new String(bytes(event), StandardCharsets.UTF_8) + "\n\n", false);
        }

        private void done() {
            write("data: [DONE]\n\n", true);
        }

        private void write(String text, boolean last) {
            try {
                Content.Sink.write(response, last, ByteBuffer.wrap(MagmaServer.utf8(text)));
            } catch (IOException e) {
                throw new UncheckedIOException("the client closed the stream", e);
            }
        }
    }

    private ObjectNode chunk(String id, long created, String object) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", magma.config().name());
        return root;
    }

    /** Prompt tokens count the image's positions too, as OpenAI counts image tokens. */
    private ObjectNode usage(Generation g) {
        int prompt = g.promptTokens() + imageTokens;
        int completion = g.tokens().length;
        metrics.promptTokens.inc(prompt);
        metrics.completionTokens.inc(completion);
        ObjectNode usage = json.createObjectNode();
        usage.put("prompt_tokens", prompt);
        usage.put("completion_tokens", completion);
        usage.put("total_tokens", prompt + completion);
        return usage;
    }

    static String finishReason(StopReason reason) {
        return switch (reason) {
            case END_OF_TEXT, STOP_SEQUENCE -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
        };
    }

    /** An http(s) image ({@code --allow-remote-images}), read up to the image limit. */
    private byte[] fetch(String url, String param) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(REMOTE_TIMEOUT).followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        try {
            HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(REMOTE_TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                if (r.statusCode() != 200) {
                    throw ApiError.invalid(param, "image_fetch_failed", param + ": " + url + " answered HTTP " + r.statusCode());
                }
                byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, options.maxImageBytes() + 1));
                if (bytes.length > options.maxImageBytes()) {
                    throw new ApiError(413, "invalid_request_error", param, "image_too_large", param + ": " + url
                            + " is larger than this server's limit of " + options.maxImageBytes() + " bytes", 0);
                }
                return bytes;
            }
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(param, param + " is not a valid URL: " + e.getMessage());
        } catch (IOException e) {
            throw ApiError.invalid(param, "image_fetch_failed", param + ": cannot fetch " + url + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", param, null, "interrupted while fetching " + url, 0);
        } finally {
            client.close();
        }
    }

    private byte[] bytes(JsonNode node) {
        try {
            return json.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
