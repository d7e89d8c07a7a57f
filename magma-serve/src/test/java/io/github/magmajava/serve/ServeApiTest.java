package io.github.magmajava.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.GatedBackend;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The HTTP API over loopback with a real client on the tiny fixtures: answers equal
 * {@link Magma#generate}, every bad request gets its status and an OpenAI-shaped error, a full
 * queue gets 429, a dropped stream frees its place, and a graceful stop finishes what runs.
 */
@Timeout(120)
class ServeApiTest {
    static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static Magma magma;
    private static MagmaServer server;
    private static byte[] png;

    static Magma.Builder tiny(String name) throws IOException {
        Path dir = FIXTURES.resolve("magma").resolve(name);
        return Magma.builder(dir.resolve("model.pt")).config(MagmaConfig.fromJson(dir.resolve("config.json")));
    }

    static byte[] fixtureImage() throws IOException {
        return Files.readAllBytes(FIXTURES.resolve("image/src/rgb_97x61.png"));
    }

    @BeforeAll
    static void start() throws Exception {
        png = fixtureImage();
        magma = tiny("tiny_a").threads(2).batchSize(4).prefillChunk(3).load();
        ServeOptions options = ServeOptions.defaults().withPort(0);
        options = new ServeOptions(options.host(), 0, 4, 4, 64 * 1024, 16 * 1024, 10_000, 4, false, options.sampling(),
                options.shutdownGrace());
        server = MagmaServer.start(options, () -> magma);
        server.awaitModel();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static URI uri(MagmaServer s, String path) {
        return URI.create("http://127.0.0.1:" + s.port() + path);
    }

    static String dataUrl(byte[] image) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(image);
    }

    /** A request body: one user message with the image and the text, then the given changes. */
    static ObjectNode body(byte[] image, String text, Consumer<ObjectNode> changes) {
        ObjectNode root = JSON.createObjectNode();
        root.put("max_tokens", 8);
        root.put("temperature", 0);
        ArrayNode content = root.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl(image));
        content.addObject().put("type", "text").put("text", text);
        changes.accept(root);
        return root;
    }

    static HttpResponse<String> post(MagmaServer s, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(s, "/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(MagmaServer s, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(s, path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The text of a streamed answer, checking the event sequence on the way. */
    static String streamedText(String events) throws IOException {
        List<String> data = new ArrayList<>();
        for (String block : events.split("\n\n")) {
            if (block.startsWith("data: ")) {
                data.add(block.substring(6));
            }
        }
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        JsonNode first = JSON.readTree(data.getFirst());
        assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        String finish = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = JSON.readTree(d);
            assertThat(chunk.path("id").asText()).isEqualTo(first.path("id").asText());
            if (chunk.path("choices").isEmpty()) {
                continue;
            }
            text.append(chunk.at("/choices/0/delta/content").asText(""));
            if (!chunk.at("/choices/0/finish_reason").isNull()) {
                finish = chunk.at("/choices/0/finish_reason").asText();
            }
        }
        assertThat(finish).isIn("stop", "length");
        return text.toString();
    }

    private static String expected(String prompt, int maxTokens) throws IOException {
        Generation g = magma.generate(new GenerationRequest(ImageInput.bytes(png, "png"), prompt,
                SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(maxTokens), false), TokenListener.NONE);
        return g.text();
    }

    @Test
    void answersEqualGenerateWholeAndStreamed() throws Exception {
        String expected = expected("A picture of", 8);
        HttpResponse<String> whole = post(server, body(png, "A picture of", b -> { }).toString());
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(whole.body());
        assertThat(answer.path("object").asText()).isEqualTo("chat.completion");
        assertThat(answer.at("/choices/0/message/content").asText()).isEqualTo(expected);
        assertThat(answer.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(answer.at("/choices/0/finish_reason").asText()).isIn("stop", "length");
        int imageTokens = magma.config().visual().imageTokens();
        assertThat(answer.at("/usage/prompt_tokens").asInt()).isEqualTo(imageTokens + magma.tokenizer().encode("A picture of").length);
        assertThat(answer.at("/usage/completion_tokens").asInt()).isEqualTo(magma.tokenizer().encode(expected).length);

        HttpResponse<String> streamed = post(server, body(png, "A picture of", b -> {
            b.put("stream", true);
            b.putObject("stream_options").put("include_usage", true);
        }).toString());
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.headers().firstValue("content-type").orElseThrow()).startsWith("text/event-stream");
        assertThat(streamedText(streamed.body())).isEqualTo(expected);
        assertThat(streamed.body()).contains("\"usage\":{\"prompt_tokens\":");
    }

    /** Requests in flight together (sharing decode steps) get the answers they get one by one, sampled with seeds. */
    @Test
    void concurrentRequestsGetTheAnswersTheyGetAlone() throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int seed = i;
            bodies.add(body(png, i % 2 == 0 ? "A picture of" : "Q: What is this? A:", b -> {
                b.put("temperature", 0.9);
                b.put("seed", seed);
                b.put("max_tokens", 10);
                b.put("stream", seed % 3 == 0);
            }).toString());
        }
        List<String> alone = new ArrayList<>();
        for (String b : bodies) {
            alone.add(text(post(server, b)));
        }
        List<CompletableFuture<HttpResponse<String>>> together = new ArrayList<>();
        for (String b : bodies) {
            together.add(CompletableFuture.supplyAsync(() -> send(server, b)));
        }
        for (int i = 0; i < bodies.size(); i++) {
            assertThat(text(together.get(i).get(60, TimeUnit.SECONDS))).as("request %d", i).isEqualTo(alone.get(i));
        }
        assertThat(new java.util.HashSet<>(alone)).as("the seeds make different answers").hasSizeGreaterThan(1);
    }

    private static String text(HttpResponse<String> r) throws IOException {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r.body().startsWith("data: ") ? streamedText(r.body())
                : JSON.readTree(r.body()).at("/choices/0/message/content").asText();
    }

    @Test
    void followUpsCarryTheConversationAndStopStringsCutTheAnswer() throws Exception {
        String first = expected("Q: What is this? A:", 6);
        ObjectNode followUp = body(png, "Q: What is this? A:", b -> {
            ArrayNode messages = (ArrayNode) b.get("messages");
            messages.addObject().put("role", "assistant").put("content", first);
            messages.addObject().put("role", "user").put("content", "Q: And then? A:");
        });
        HttpResponse<String> r = post(server, followUp.toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String transcript = "Q: What is this? A:" + first + "\nQ: And then? A:";
        assertThat(JSON.readTree(r.body()).at("/choices/0/message/content").asText()).isEqualTo(expected(transcript, 8));

        String full = expected("A picture of", 8);
        String stop = full.substring(2, 5);
        HttpResponse<String> cut = post(server, body(png, "A picture of", b -> b.put("stop", stop)).toString());
        JsonNode answer = JSON.readTree(cut.body());
        assertThat(answer.at("/choices/0/message/content").asText()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(answer.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    }

    /** Every refusal: its status, the OpenAI error shape, and the field it names. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "malformed JSON|{\"messages\": [|400|invalid_json|",
        "JSON Jackson takes for UTF-32, above U+10FFFF|UTF32|400|invalid_json|",
        "nested deeper than 64|NESTED|400|invalid_json|",
        "not an object|[1, 2]|400||",
        "no messages|{\"max_tokens\": 3}|400||messages",
        "no image|{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}|400||messages",
        "bad base64|IMAGE:data:image/png;base64,@@@@|400|invalid_base64|messages[0].content[0].image_url.url",
        "not a data URL|IMAGE:file:///etc/passwd|400||messages[0].content[0].image_url.url",
        "remote URL not allowed|IMAGE:http://127.0.0.1:1/x.png|400||messages[0].content[0].image_url.url",
        "not an image|IMAGE:data:image/png;base64,aGVsbG8gd29ybGQ=|400|invalid_image|messages[0].content[0].image_url.url",
        "max_tokens 0|SET:max_tokens=0|400||max_tokens",
        "max_tokens too large|SET:max_tokens=100000|400||max_tokens",
        "max_tokens not an integer|SET:max_tokens=\"many\"|400||max_tokens",
        "temperature negative|SET:temperature=-1|400||temperature",
        "top_p zero|SET:top_p=0|400||top_p",
        "top_k negative|SET:top_k=-2|400||top_k",
        "n 2|SET:n=2|400||n",
        "stream not a boolean|SET:stream=\"yes\"|400||stream",
        "empty stop|SET:stop=\"\"|400||stop",
        "five stops|SET:stop=[\"a\",\"b\",\"c\",\"d\",\"e\"]|400||stop",
        "unknown model|SET:model=\"gpt-4o\"|404|model_not_found|model",
        "last message not the user's|ASSISTANT_LAST|400||messages[1].role",
        "two images|TWO_IMAGES|400||messages[0].content[2]",
        "prompt too long|LONG_PROMPT|400|context_length_exceeded|messages",
        "image too large|BIG_IMAGE|413|image_too_large|messages[0].content[0].image_url.url",
        "body too large|BIG_BODY|413|body_too_large|",
        "too many pixels|MANY_PIXELS|400|invalid_image|messages[0].content[0].image_url.url",
    })
    void badRequestsGetTheirStatusAndAnError(String name, String spec, int status, String code, String param) throws Exception {
        HttpResponse<String> r = post(server, badBody(spec));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("application/json");
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertThat(error.path("message").asText()).as(r.body()).isNotBlank().doesNotContain("\n");
        assertThat(error.path("type").asText()).isNotBlank();
        if (code != null) {
            assertThat(error.path("code").asText()).isEqualTo(code);
        }
        if (param != null) {
            assertThat(error.path("param").asText()).isEqualTo(param);
            assertThat(error.path("message").asText()).contains(param);
        }
    }

    private static String badBody(String spec) throws IOException {
        if (spec.startsWith("{") || spec.startsWith("[")) {
            return spec;
        }
        if (spec.startsWith("IMAGE:")) {
            ObjectNode b = body(png, "A picture of", x -> { });
            ((ObjectNode) b.at("/messages/0/content/0/image_url")).put("url", spec.substring(6));
            return b.toString();
        }
        if (spec.startsWith("SET:")) {
            String[] kv = spec.substring(4).split("=", 2);
            ObjectNode b = body(png, "A picture of", x -> { });
            b.set(kv[0], JSON.readTree(kv[1]));
            return b.toString();
        }
        return switch (spec) {
            // Both found by ChatRequestFuzzTest; before the fix the client saw a 500 for each.
            case "UTF32" -> "{\0\0\0\"messages\": []}";
            case "NESTED" -> "[".repeat(100) + "]".repeat(100);
            case "ASSISTANT_LAST" -> body(png, "A picture of", b -> ((ArrayNode) b.get("messages")).addObject()
                    .put("role", "assistant").put("content", "a cat")).toString();
            case "TWO_IMAGES" -> body(png, "A picture of", b -> ((ArrayNode) b.at("/messages/0/content")).addObject()
                    .put("type", "image_url").putObject("image_url").put("url", dataUrl(png))).toString();
            case "LONG_PROMPT" -> body(png, " cat".repeat(magma.config().transformer().maxPositions()), b -> { }).toString();
            case "BIG_IMAGE" -> body(new byte[20 * 1024], "A picture of", b -> { }).toString();
            case "BIG_BODY" -> body(png, "x".repeat(70 * 1024), b -> { }).toString();
            case "MANY_PIXELS" -> body(Files.readAllBytes(FIXTURES.resolve("image/src/rgb_97x61.png")), "A", b -> { })
                    .toString().replace(dataUrl(png), dataUrl(bigPng()));
            default -> throw new IllegalArgumentException(spec);
        };
    }

    /** A PNG of 200 x 100 = 20000 pixels, over the test server's 10000, yet small in bytes. */
    private static byte[] bigPng() throws IOException {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(200, 100, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    @Test
    void unknownFieldsAreToleratedAndSystemMessagesComeFirst() throws Exception {
        HttpResponse<String> r = post(server, body(png, "A picture of", b -> {
            b.put("frequency_penalty", 0.5);
            b.put("user", "someone");
            b.putObject("response_format").put("type", "text");
            b.put("n", 1);
            ((ObjectNode) b.at("/messages/0")).put("name", "ignored");
        }).toString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).at("/choices/0/message/content").asText()).isEqualTo(expected("A picture of", 8));
        HttpResponse<String> withSystem = post(server, body(png, "A picture of", b -> ((ArrayNode) b.get("messages")).insert(0,
                JSON.createObjectNode().put("role", "system").put("content", "Be brief."))).toString());
        assertThat(JSON.readTree(withSystem.body()).at("/choices/0/message/content").asText())
                .isEqualTo(expected("Be brief.\nA picture of", 8));
    }

    /** With --allow-remote-images an http URL is fetched (here from a loopback server); a failing one is a 400. */
    @Test
    void remoteImagesAreFetchedOnlyWhenAllowed() throws Exception {
        com.sun.net.httpserver.HttpServer images = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        images.createContext("/picture.png", ex -> {
            ex.sendResponseHeaders(200, png.length);
            ex.getResponseBody().write(png);
            ex.close();
        });
        images.start();
        ServeOptions d = ServeOptions.defaults();
        try (MagmaServer remote = MagmaServer.start(new ServeOptions("127.0.0.1", 0, 2, 2, 1 << 20, 1 << 20, 1 << 20, 2, true,
                d.sampling(), Duration.ofSeconds(5)), () -> tiny("tiny_a").threads(2).load())) {
            remote.awaitModel();
            String base = "http://127.0.0.1:" + images.getAddress().getPort();
            ObjectNode b = body(png, "A picture of", x -> { });
            ((ObjectNode) b.at("/messages/0/content/0/image_url")).put("url", base + "/picture.png");
            HttpResponse<String> r = post(remote, b.toString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).at("/choices/0/message/content").asText()).isEqualTo(expected("A picture of", 8));
            ((ObjectNode) b.at("/messages/0/content/0/image_url")).put("url", base + "/missing.png");
            HttpResponse<String> missing = post(remote, b.toString());
            assertThat(missing.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(missing.body()).at("/error/code").asText()).isEqualTo("image_fetch_failed");
            assertThat(JSON.readTree(missing.body()).at("/error/message").asText()).contains("HTTP 404");
        } finally {
            images.stop(0);
        }
    }

    @Test
    void otherRoutesAnswerAsDocumented() throws Exception {
        JsonNode models = JSON.readTree(get(server, "/v1/models").body());
        assertThat(models.at("/data/0/id").asText()).isEqualTo("tiny_a");
        HttpResponse<String> health = get(server, "/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(health.body()).path("status").asText()).isEqualTo("ok");
        HttpResponse<String> page = get(server, "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type").orElseThrow()).startsWith("text/html");
        assertThat(page.body()).contains("id=\"image-input\"").doesNotContainPattern("(src|href)=\"https?://");
        post(server, body(png, "A picture of", b -> { }).toString());
        String metrics = get(server, "/metrics").body();
        assertThat(metrics).contains("magma_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}",
                "magma_time_to_first_token_seconds_bucket", "magma_time_per_output_token_seconds_count",
                "magma_request_duration_seconds_count", "magma_queue_depth", "magma_generations_running",
                "magma_completion_tokens_total", "magma_image_prefix_cache_total{result=\"hit\"}");
        assertThat(get(server, "/nowhere").statusCode()).isEqualTo(404);
        assertThat(get(server, "/v1/chat/completions").statusCode()).isEqualTo(405);
        assertThat(JSON.readTree(get(server, "/v1/chat/completions").body()).at("/error/code").asText()).isEqualTo("method_not_allowed");
    }

    /** One place running, one waiting: the third request is told to come back, with Retry-After. */
    @Test
    void aFullQueueGets429WithRetryAfter() throws Exception {
        GatedBackend gated = new GatedBackend(CpuBackend.withThreads(2));
        Magma held = tiny("tiny_a").backend(gated).batchSize(1).load();
        ServeOptions d = ServeOptions.defaults();
        try (MagmaServer s = MagmaServer.start(new ServeOptions("127.0.0.1", 0, 1, 1, 1 << 20, 1 << 20, 1 << 20, 2, false,
                d.sampling(), Duration.ofSeconds(5)), () -> held)) {
            s.awaitModel();
            gated.hold();
            String request = body(png, "A picture of", b -> { }).toString();
            CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> send(s, request));
            assertThat(gated.arrived.tryAcquire(30, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(() -> send(s, request));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (JSON.readTree(get(s, "/health").body()).path("requests").asInt() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            HttpResponse<String> third = post(s, request);
            assertThat(third.statusCode()).as(third.body()).isEqualTo(429);
            assertThat(Long.parseLong(third.headers().firstValue("retry-after").orElseThrow())).isPositive();
            assertThat(JSON.readTree(third.body()).at("/error/code").asText()).isEqualTo("queue_full");
            gated.release();
            assertThat(first.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(second.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        } finally {
            gated.close();
        }
    }

    private static HttpResponse<String> send(MagmaServer s, String body) {
        try {
            return post(s, body);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client that reads one event and hangs up: its generation ends and its place is free again. */
    @Test
    void aDroppedStreamStopsItsGenerationAndFreesItsPlace() throws Exception {
        GatedBackend slow = new GatedBackend(CpuBackend.withThreads(2));
        Magma paced = tiny("tiny_a").backend(slow).batchSize(1).load();
        ServeOptions d = ServeOptions.defaults();
        try (MagmaServer s = MagmaServer.start(new ServeOptions("127.0.0.1", 0, 1, 0, 1 << 20, 1 << 20, 1 << 20, 2, false,
                d.sampling(), Duration.ofSeconds(5)), () -> paced)) {
            s.awaitModel();
            int maxTokens = paced.config().transformer().sequenceLength() - 8;
            slow.delay(5); // a few phases per token: about 20 ms a token, so the whole answer would take seconds
            String request = body(png, "A picture of", b -> {
                b.put("stream", true);
                b.put("max_tokens", maxTokens);
                b.put("temperature", 1.0);
            }).toString();
            HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(uri(s, "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(request)).build(), HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            assertThat(reader.readLine()).startsWith("data: ");
            assertThat(paced.workload().running()).isEqualTo(1);
            long dropped = System.nanoTime();
            r.body().close();
            while (paced.workload().running() > 0) {
                Thread.sleep(10);
            }
            double seconds = (System.nanoTime() - dropped) / 1e9;
            assertThat(seconds).as("the generation ended soon after the client left").isLessThan(3.0);
            slow.delay(0);
            HttpResponse<String> next = post(s, body(png, "A picture of", b -> { }).toString());
            assertThat(next.statusCode()).as("the only place is free again: " + next.body()).isEqualTo(200);
            String metrics = get(s, "/metrics").body();
            assertThat(metrics).contains("magma_requests_total{endpoint=\"/v1/chat/completions\",status=\"499\"} 1.0");
        } finally {
            slow.close();
        }
    }

    /** Stopping (SIGTERM) lets a stream in flight finish, then refuses new work. */
    @Test
    void aGracefulStopFinishesTheAnswersInFlight() throws Exception {
        GatedBackend slow = new GatedBackend(CpuBackend.withThreads(2));
        Magma paced = tiny("tiny_a").backend(slow).load();
        ServeOptions d = ServeOptions.defaults();
        MagmaServer s = MagmaServer.start(new ServeOptions("127.0.0.1", 0, 2, 2, 1 << 20, 1 << 20, 1 << 20, 2, false,
                d.sampling(), Duration.ofSeconds(30)), () -> paced);
        try {
            s.awaitModel();
            String expected = post(s, body(png, "A picture of", b -> b.put("max_tokens", 12)).toString()).body();
            slow.delay(10);
            CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> send(s,
                    body(png, "A picture of", b -> {
                        b.put("max_tokens", 12);
                        b.put("stream", true);
                    }).toString()));
            while (paced.workload().running() == 0) {
                Thread.sleep(5);
            }
            Thread closing = Thread.ofPlatform().start(s::close);
            Thread.sleep(50);
            HttpResponse<String> health = get(s, "/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(health.body()).contains("stopping");
            assertThat(post(s, body(png, "A picture of", b -> { }).toString()).statusCode()).isEqualTo(503);
            HttpResponse<String> finished = inFlight.get(60, TimeUnit.SECONDS);
            assertThat(streamedText(finished.body())).isEqualTo(JSON.readTree(expected).at("/choices/0/message/content").asText());
            closing.join(60_000);
            assertThat(closing.isAlive()).isFalse();
        } finally {
            s.close();
            slow.close();
        }
    }
}
