package io.github.magmajava.serve;

import io.github.magmajava.image.ClipPreprocessor;
import io.github.magmajava.sampling.SamplingOptions;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link MagmaServer} listens and what it accepts.
 *
 * @param maxConcurrent   generations that advance together (the model's batch size)
 * @param queue           requests that may wait for a place beyond those; more get 429
 * @param maxBodyBytes    the largest request body (a base64 image is 4/3 of its bytes)
 * @param maxImageBytes   the largest encoded image, after base64
 * @param maxImagePixels  the decoder's limit (width x height), refusing decompression bombs
 * @param imageCache      image prefixes kept by content hash (each holds its 144 positions' keys and values)
 * @param allowRemoteImages whether {@code image_url} may be http(s), fetched by the server
 * @param sampling        sampling when a request does not say (max_tokens, temperature, top_p, top_k, seed)
 * @param shutdownGrace   how long a shutdown waits for generations in flight before ending them
 */
public record ServeOptions(String host, int port, int maxConcurrent, int queue, long maxBodyBytes, long maxImageBytes,
        long maxImagePixels, int imageCache, boolean allowRemoteImages, SamplingOptions sampling, Duration shutdownGrace) {
    public ServeOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        require(port >= 0 && port <= 65535, "port must be from 0 (any free port) to 65535, found " + port);
        require(maxConcurrent >= 1, "maxConcurrent must be >= 1, found " + maxConcurrent);
        require(queue >= 0, "queue must be >= 0, found " + queue);
        require(maxBodyBytes >= 1024, "maxBodyBytes must be >= 1024, found " + maxBodyBytes);
        require(maxImageBytes >= 1, "maxImageBytes must be >= 1, found " + maxImageBytes);
        require(maxImagePixels >= 1, "maxImagePixels must be >= 1, found " + maxImagePixels);
        require(imageCache >= 0, "imageCache must be >= 0, found " + imageCache);
        require(!shutdownGrace.isNegative(), "shutdownGrace must not be negative, found " + shutdownGrace);
    }

    /**
     * 127.0.0.1:8080, 8 generations at once and 32 waiting, 32 MiB bodies, 20 MiB images, Pillow's
     * pixel limit, 8 image prefixes, no remote images, the seed's sampling defaults, 30 s grace.
     */
    public static ServeOptions defaults() {
        return new ServeOptions("127.0.0.1", 8080, 8, 32, 32L << 20, 20L << 20, ClipPreprocessor.DEFAULT_PIXEL_LIMIT, 8, false,
                SamplingOptions.defaults(), Duration.ofSeconds(30));
    }

    public ServeOptions withPort(int newPort) {
        return new ServeOptions(host, newPort, maxConcurrent, queue, maxBodyBytes, maxImageBytes, maxImagePixels, imageCache,
                allowRemoteImages, sampling, shutdownGrace);
    }


    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
