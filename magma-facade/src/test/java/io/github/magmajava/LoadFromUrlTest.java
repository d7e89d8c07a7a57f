package io.github.magmajava;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.convert.CheckpointConverter;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Magma#load(URI)}: downloaded once into the cache directory, then found there. */
class LoadFromUrlTest {
    @Test
    void loadsACheckpointByUrlOnceAndAnswersAsTheLocalFile(@TempDir Path dir) throws Exception {
        Path fixture = TinyGreedyRuns.FIXTURES.resolve("tiny_a");
        // a converted file carries its config, so a URL alone loads it
        Path converted = dir.resolve("tiny_a.safetensors");
        CheckpointConverter.convert(fixture.resolve("model.pt"), converted, WeightFormat.FP16,
                Optional.of(MagmaConfig.fromJson(fixture.resolve("config.json"))), null);
        byte[] body = Files.readAllBytes(converted);
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/tiny_a.safetensors", exchange -> {
            requests.incrementAndGet();
            exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        String previous = System.getProperty("magma.cache.dir");
        System.setProperty("magma.cache.dir", dir.resolve("cache").toString());
        try {
            URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/tiny_a.safetensors");
            GenerationRequest request = GenerationRequest.of(TinyGreedyRuns.FIXTURES.resolve("../image/src/rgb_430x400.png"), "A picture of")
                    .withOptions(SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(5));
            int[] local;
            try (Magma magma = Magma.load(converted)) {
                local = magma.generate(request, TokenListener.NONE).tokens();
            }
            for (int run = 0; run < 2; run++) {
                try (Magma magma = Magma.load(url)) {
                    assertThat(magma.generate(request, TokenListener.NONE).tokens()).containsExactly(local);
                }
            }
            assertThat(requests.get()).as("the second load finds the cached file").isEqualTo(1);
        } finally {
            server.stop(0);
            if (previous == null) {
                System.clearProperty("magma.cache.dir");
            } else {
                System.setProperty("magma.cache.dir", previous);
            }
        }
    }
}
