package io.github.magmajava.spark;

import io.github.magmajava.Magma;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.download.DownloadCache;
import io.github.magmajava.download.DownloadOptions;
import io.github.magmajava.download.Downloader;
import io.github.magmajava.quant.WeightFormat;
import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Which model an executor loads, and how: the checkpoint (a path on the executor's file system or
 * an http(s) URL, downloaded once per node into its cache directory), the model config (a preset
 * name, a JSON file, or empty to detect it from the shapes), the weight format (null: as the
 * checkpoint holds them, fp16 or, for a file converted with {@code --weights q8}, int8), the
 * precision and the backend's worker threads. Equal specs share one loaded model per JVM ({@link ExecutorModels}).
 */
public record ModelSpec(String checkpoint, String modelConfig, WeightFormat weights, Precision precision, int threads)
        implements Serializable {
    public ModelSpec {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(modelConfig, "modelConfig");
        Objects.requireNonNull(precision, "precision");
        if (checkpoint.isBlank()) {
            throw new IllegalArgumentException("the checkpoint parameter is not set: give a path on every executor or an http(s) URL");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, found " + threads);
        }
    }

    /**
     * Loads the model on this JVM.
     *
     * @throws MissingCheckpointException when the checkpoint file is not on this executor, naming
     *     the path and the executor
     */
    Magma load(String executor) throws IOException {
        Path file;
        if (Downloader.isHttpUrl(checkpoint)) {
            file = DownloadCache.fetch(URI.create(checkpoint.strip()), DownloadOptions.defaults());
        } else {
            file = Path.of(checkpoint.startsWith("file:") ? URI.create(checkpoint).getPath() : checkpoint);
            if (!Files.isRegularFile(file)) {
                throw new MissingCheckpointException("the MAGMA checkpoint " + file.toAbsolutePath() + " is not a file on " + executor
                        + ": copy it to that path on every node, or put it on shared storage mounted there, or give an http(s) URL");
            }
        }
        Magma.Builder builder = Magma.builder(file).precision(precision).threads(threads);
        if (weights != null) {
            builder.weights(weights);
        }
        if (!modelConfig.isBlank()) {
            builder.config(config(modelConfig));
        }
        return builder.load();
    }

    /** A preset's name, or a JSON file. */
    static MagmaConfig config(String value) {
        return MagmaConfig.preset(value).orElseGet(() -> {
            Path file = Path.of(value);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("modelConfig '" + value + "' is neither a preset (" + MagmaConfig.presetNames()
                        + ") nor a file");
            }
            return MagmaConfig.fromJson(file);
        });
    }

    /** The checkpoint named is not on the executor: the task fails at once (it would fail on every row). */
    public static final class MissingCheckpointException extends IOException {
        public MissingCheckpointException(String message) {
            super(message);
        }
    }
}
