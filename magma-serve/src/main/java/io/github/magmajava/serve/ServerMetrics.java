package io.github.magmajava.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.github.magmajava.Magma;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/** What {@code GET /metrics} reports, in Prometheus' text format (the Prometheus Java client's own registry, not the global one). */
final class ServerMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    final Counter requests;
    final Counter promptTokens;
    final Counter completionTokens;
    final Counter imageCache;
    final Histogram requestSeconds;
    final Histogram firstTokenSeconds;
    final Histogram tokenSeconds;

    ServerMetrics(Supplier<Magma.Workload> load) {
        requests = Counter.builder().name("magma_requests_total").help("HTTP requests by endpoint and status")
                .labelNames("endpoint", "status").register(registry);
        promptTokens = Counter.builder().name("magma_prompt_tokens_total").help("Prompt positions of answered requests (image and text)")
                .register(registry);
        completionTokens = Counter.builder().name("magma_completion_tokens_total").help("Tokens generated").register(registry);
        imageCache = Counter.builder().name("magma_image_prefix_cache_total").help("Image prefix lookups by result (hit, miss)")
                .labelNames("result").register(registry);
        requestSeconds = Histogram.builder().name("magma_request_duration_seconds").help("Chat completion requests, end to end")
                .classicUpperBounds(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250).register(registry);
        firstTokenSeconds = Histogram.builder().name("magma_time_to_first_token_seconds")
                .help("From a request's arrival to its first token").classicUpperBounds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100)
                .register(registry);
        tokenSeconds = Histogram.builder().name("magma_time_per_output_token_seconds")
                .help("Between consecutive tokens of one answer").classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
                .register(registry);
        GaugeWithCallback.builder().name("magma_generations_running").help("Generations advancing together")
                .callback(c -> c.call(load.get().running())).register(registry);
        GaugeWithCallback.builder().name("magma_queue_depth").help("Generations waiting for a place")
                .callback(c -> c.call(load.get().waiting())).register(registry);
    }

    private final LongAdder answeredNanos = new LongAdder();
    private final LongAdder answered = new LongAdder();

    /** A chat completion took {@code seconds} end to end. */
    void answered(double seconds) {
        requestSeconds.observe(seconds);
        answeredNanos.add((long) (seconds * 1e9));
        answered.increment();
    }

    /** The mean of {@link #answered} so far (1 s before the first): what a busy client is told to wait. */
    double meanRequestSeconds() {
        long n = answered.sum();
        return n == 0 ? 1 : answeredNanos.sum() / 1e9 / n;
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    byte[] scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toByteArray();
    }

    static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
