package io.github.magmajava.cli;

import io.github.magmajava.Magma;
import io.github.magmajava.serve.MagmaServer;
import io.github.magmajava.serve.ServeOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over HTTP: an OpenAI-style POST /v1/chat/completions (streamed with \"stream\": true),"
            + " GET /v1/models, /health, /metrics, and a page to try it at /. Requests in flight share decode steps."
            + " Stops gracefully on SIGTERM or Ctrl-C. docs/serve.md."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CheckpointOption checkpoint;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Mixin
    SamplingArgs sampling;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE};"
            + " 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", defaultValue = "8080", converter = OptionValues.NonNegative.class,
            description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--max-concurrent", defaultValue = "8", converter = OptionValues.Positive.class,
            description = "Generations that advance together, sharing each decode step (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--queue", defaultValue = "32", converter = OptionValues.NonNegative.class,
            description = "Requests that may wait for a place; beyond them the server answers 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-body", defaultValue = "32MiB", converter = OptionValues.Size.class, paramLabel = "SIZE",
            description = "Largest request body (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--max-image", defaultValue = "20MiB", converter = OptionValues.Size.class, paramLabel = "SIZE",
            description = "Largest encoded image (default: ${DEFAULT-VALUE}).")
    long maxImage;

    @Option(names = "--max-image-pixels", defaultValue = "89478485", converter = OptionValues.AnyLong.class,
            description = "Largest image in pixels, width x height (default: Pillow's ${DEFAULT-VALUE}).")
    long maxImagePixels;

    @Option(names = "--image-cache", defaultValue = "8", converter = OptionValues.NonNegative.class,
            description = "Image prefixes kept for follow-up questions, by the image's hash (default: ${DEFAULT-VALUE};"
                + " each holds its 144 positions, 132 MB on the full model).")
    int imageCache;

    @Option(names = "--allow-remote-images", description = "Fetch http(s) image URLs (default: data: URLs only).")
    boolean allowRemoteImages;

    @Option(names = "--shutdown-grace", defaultValue = "30", converter = OptionValues.NonNegative.class, paramLabel = "SECONDS",
            description = "On SIGTERM, how long answers in flight may finish before they are ended (default: ${DEFAULT-VALUE}).")
    int shutdownGrace;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        ServeOptions options;
        try {
            options = new ServeOptions(host, port, maxConcurrent, queue, maxBody, maxImage, maxImagePixels, imageCache,
                    allowRemoteImages, sampling.toOptions(), Duration.ofSeconds(shutdownGrace));
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Path file = checkpoint.resolve(err);
        Magma.Builder builder = Magma.builder(file).batchSize(maxConcurrent).prefillChunk(ComputeOptions.SERVE_PREFILL_CHUNK);
        if (config != null) {
            builder.config(config.resolve());
        }
        compute.applyTo(builder, spec); // --prefill-chunk, when given, replaces serve's default
        CountDownLatch stopped = new CountDownLatch(1);
        try (MagmaServer server = MagmaServer.start(options, builder::load)) {
            err.println("serve: listening on http://" + host + ":" + server.port() + "/ ; loading " + file);
            err.flush();
            Thread hook = new Thread(() -> {
                err.println("serve: stopping (answers in flight get up to " + shutdownGrace + " s)");
                err.flush();
                server.close();
                stopped.countDown();
            }, "magma-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Magma magma = server.awaitModel();
            err.println("serve: ready: " + magma.config().name() + " loaded in " + magma.loadTime().toMillis() + " ms; up to "
                    + maxConcurrent + " generations at once, " + queue + " waiting");
            err.flush();
            stopped.await();
        }
        return 0;
    }
}
