package io.github.magmajava.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The load benchmark of {@code magma serve}: for each client count, that many clients ask at the
 * same moment, each streaming its answer; it reports time to first token, the gaps between
 * tokens (percentiles over every stream), and the aggregate decode rate: tokens that arrived
 * while every stream was decoding, per second of that window (prefill, and the stragglers, apart).
 *
 * <pre>
 * java -cp magma-bench/target/benchmarks.jar io.github.magmajava.bench.ServeLoad \
 *     --url http://127.0.0.1:8080 --image IMAGE.png [--clients 1,2,4,8] [--max-tokens 32] [--out FILE.json]
 * </pre>
 *
 * Every client asks about the same image, so after the warm-up request its prefix is cached and
 * each request prefills only its prompt's tokens (docs/serve.md).
 */
public final class ServeLoad {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeLoad() {
    }

    /** One streamed answer: when it was sent, when each token arrived, how many tokens the server counted. */
    record Stream(long sent, long[] arrivals, int completionTokens) {
        long first() {
            return arrivals[0];
        }

        long last() {
            return arrivals[arrivals.length - 1];
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "http://127.0.0.1:8080";
        Path image = null;
        int[] clients = {1, 2, 4, 8};
        int maxTokens = 32;
        String prompt = "Q: What is in this image? A:";
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--url" -> url = args[++i];
                case "--image" -> image = Path.of(args[++i]);
                case "--clients" -> clients = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--prompt" -> prompt = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--url, --image, --clients, --max-tokens, --prompt, --out)");
            }
        }
        if (image == null) {
            throw new IllegalArgumentException("--image is required");
        }
        String dataUrl = "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(image));
        HttpClient http = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        URI endpoint = URI.create(url + "/v1/chat/completions");

        System.err.println("serve-load: warm-up (encodes the image once; its prefix is then cached)");
        Stream warm = stream(http, endpoint, body(dataUrl, prompt, maxTokens, 0));
        System.err.printf("serve-load: warm-up took %.1f s to the first token%n", (warm.first() - warm.sent()) / 1e9);

        ArrayNode results = JSON.createArrayNode();
        System.out.println("| clients | TTFT p50 s | TTFT max s | token gap p50 ms | p90 ms | p99 ms | aggregate decode tok/s | x one stream |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        double single = 0;
        for (int n : clients) {
            List<Stream> streams = run(http, endpoint, dataUrl, prompt, maxTokens, n);
            ObjectNode r = summarize(n, streams);
            if (n == 1 || single == 0) {
                single = r.path("aggregateDecodeTokensPerSecond").asDouble();
            }
            r.put("speedupOverOneStream", r.path("aggregateDecodeTokensPerSecond").asDouble() / single);
            results.add(r);
            System.out.printf("| %d | %.2f | %.2f | %.0f | %.0f | %.0f | %.2f | %.2f |%n", n, r.path("ttftP50").asDouble(),
                    r.path("ttftMax").asDouble(), r.path("gapP50").asDouble() * 1000, r.path("gapP90").asDouble() * 1000,
                    r.path("gapP99").asDouble() * 1000, r.path("aggregateDecodeTokensPerSecond").asDouble(),
                    r.path("speedupOverOneStream").asDouble());
        }
        if (out != null) {
            ObjectNode root = JSON.createObjectNode();
            root.put("url", url);
            root.put("image", image.toString());
            root.put("prompt", prompt);
            root.put("maxTokens", maxTokens);
            root.set("runs", results);
            Files.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        }
        http.close();
    }

    private static String body(String dataUrl, String prompt, int maxTokens, long seed) {
        ObjectNode b = JSON.createObjectNode();
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0.7);
        b.put("seed", seed);
        ArrayNode content = b.putArray("messages").addObject().put("role", "user").putArray("content");
        content.addObject().put("type", "image_url").putObject("image_url").put("url", dataUrl);
        content.addObject().put("type", "text").put("text", prompt);
        return b.toString();
    }

    private static List<Stream> run(HttpClient http, URI endpoint, String dataUrl, String prompt, int maxTokens, int n)
            throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Stream>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String body = body(dataUrl, prompt, maxTokens, 1000L * n + i);
                futures.add(pool.submit(() -> {
                    go.await();
                    return stream(http, endpoint, body);
                }));
            }
            go.countDown();
            List<Stream> streams = new ArrayList<>();
            for (Future<Stream> f : futures) {
                streams.add(f.get());
            }
            return streams;
        }
    }

    /** Sends one streaming request and notes when each token's event arrives. */
    static Stream stream(HttpClient http, URI endpoint, String body) throws IOException, InterruptedException {
        long sent = System.nanoTime();
        HttpResponse<java.io.InputStream> r = http.send(HttpRequest.newBuilder(endpoint).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IOException("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        List<Long> arrivals = new ArrayList<>();
        int completion = -1;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                long now = System.nanoTime();
                JsonNode chunk = JSON.readTree(line.substring(6));
                if (chunk.has("error")) {
                    throw new IOException("stream error: " + chunk.get("error"));
                }
                if (chunk.has("usage")) {
                    completion = chunk.at("/usage/completion_tokens").asInt();
                }
                JsonNode delta = chunk.at("/choices/0/delta");
                if (delta.has("content") && !delta.has("role")) {
                    arrivals.add(now);
                }
            }
        }
        if (arrivals.isEmpty()) {
            throw new IOException("no tokens arrived");
        }
        return new Stream(sent, arrivals.stream().mapToLong(Long::longValue).toArray(), completion);
    }

    static ObjectNode summarize(int n, List<Stream> streams) {
        long start = streams.stream().mapToLong(Stream::sent).min().orElseThrow();
        double[] ttft = streams.stream().mapToDouble(s -> (s.first() - s.sent()) / 1e9).sorted().toArray();
        List<Double> gaps = new ArrayList<>();
        for (Stream s : streams) {
            for (int i = 1; i < s.arrivals().length; i++) {
                gaps.add((s.arrivals()[i] - s.arrivals()[i - 1]) / 1e9);
            }
        }
        double[] gap = gaps.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        // The window in which every stream was decoding: from the last first token to the first last token.
        long from = streams.stream().mapToLong(Stream::first).max().orElseThrow();
        long to = streams.stream().mapToLong(Stream::last).min().orElseThrow();
        long inWindow = 0;
        for (Stream s : streams) {
            for (long t : s.arrivals()) {
                if (t > from && t <= to) {
                    inWindow++;
                }
            }
        }
        double window = (to - from) / 1e9;
        ObjectNode r = JSON.createObjectNode();
        r.put("clients", n);
        r.put("ttftP50", percentile(ttft, 0.5));
        r.put("ttftMax", ttft[ttft.length - 1]);
        r.put("gapP50", percentile(gap, 0.5));
        r.put("gapP90", percentile(gap, 0.9));
        r.put("gapP99", percentile(gap, 0.99));
        r.put("decodeWindowSeconds", window);
        r.put("tokensInWindow", inWindow);
        r.put("aggregateDecodeTokensPerSecond", window > 0 ? inWindow / window : Double.NaN);
        r.put("totalTokens", streams.stream().mapToInt(s -> s.arrivals().length).sum());
        r.put("wallSeconds", (streams.stream().mapToLong(Stream::last).max().orElseThrow() - start) / 1e9);
        return r;
    }

    private static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
