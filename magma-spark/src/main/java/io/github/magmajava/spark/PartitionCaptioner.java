package io.github.magmajava.spark;

import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.image.ImageLoadException;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.OptionalInt;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;

/**
 * What {@link MagmaCaptioner#transform} runs on each partition: the executor's shared model
 * ({@link ExecutorModels}), then one generation per row as the rows are pulled, each row given
 * its answer (or its error) in the appended columns.
 */
final class PartitionCaptioner implements MapPartitionsFunction<Row, Row> {
    /** The input row's cells: the image, the row key (-1: the image is the key), the prompt (-1: the fixed prompt). */
    record Columns(int image, boolean imageIsPath, String imageName, int key, int prompt, String promptName) implements Serializable {
    }

    /** What the task needs from the transformer's parameters (sampling as fields: {@link SamplingOptions} is not Serializable). */
    record Settings(String checkpoint, String modelConfig, WeightFormat weights, Precision precision, int threadsPerTask,
            int maxNewTokens, float temperature, int topK, float topP, long seed, String fixedPrompt, long maxImageBytes,
            boolean tokens, boolean millis) implements Serializable {
        Settings {
            new SamplingOptions(maxNewTokens, temperature, topK, topP, seed); // checked on the driver
        }

        SamplingOptions sampling(long rowSeed) {
            return new SamplingOptions(maxNewTokens, temperature, topK, topP, rowSeed);
        }
    }

    private final Settings settings;
    private final Columns columns;
    private final Broadcast<SerializableConfiguration> hadoop;

    PartitionCaptioner(Settings settings, Columns columns, Broadcast<SerializableConfiguration> hadoop) {
        this.settings = settings;
        this.columns = columns;
        this.hadoop = hadoop;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) throws IOException {
        if (!rows.hasNext()) {
            return rows; // an empty partition loads nothing
        }
        ModelSpec spec = new ModelSpec(settings.checkpoint(), settings.modelConfig(), settings.weights(), settings.precision(),
                modelThreads(settings.threadsPerTask()));
        Magma magma = ExecutorModels.acquire(spec, executorName());
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                if (!rows.hasNext()) {
                    throw new NoSuchElementException();
                }
                return answer(magma, rows.next());
            }
        };
    }

    /** The row with its answer columns appended: text and tokens, or null and the reason in the error column. */
    private Row answer(Magma magma, Row row) {
        long start = System.nanoTime();
        String text = null;
        int[] tokens = null;
        String error = null;
        try {
            Generation g = generate(magma, row);
            text = g.text();
            tokens = g.tokens();
        } catch (ImageCell.RowException | ImageLoadException | IllegalArgumentException e) {
            error = e.getMessage();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;

        int n = row.size();
        Object[] values = new Object[n + 2 + (settings.tokens() ? 1 : 0) + (settings.millis() ? 1 : 0)];
        for (int i = 0; i < n; i++) {
            values[i] = row.get(i);
        }
        values[n++] = text;
        values[n++] = error;
        if (settings.tokens()) {
            values[n++] = tokens == null ? null : Arrays.stream(tokens).boxed().toArray(Integer[]::new);
        }
        if (settings.millis()) {
            values[n] = millis;
        }
        return RowFactory.create(values);
    }

    private Generation generate(Magma magma, Row row) throws ImageCell.RowException, IOException {
        if (row.isNullAt(columns.image())) {
            throw new ImageCell.RowException("the image column '" + columns.imageName() + "' is null");
        }
        String prompt = settings.fixedPrompt();
        if (columns.prompt() >= 0) {
            if (row.isNullAt(columns.prompt())) {
                throw new ImageCell.RowException("the prompt column '" + columns.promptName() + "' is null");
            }
            prompt = row.getString(columns.prompt());
        }
        String key = columns.key() >= 0 && !row.isNullAt(columns.key()) ? String.valueOf(row.get(columns.key())) : null;
        ImageInput image;
        long seed;
        if (columns.imageIsPath()) {
            String path = row.getString(columns.image());
            image = ImageCell.file(path, hadoop.value().value(), settings.maxImageBytes());
            seed = RowSeed.of(settings.seed(), key != null ? key : path);
        } else {
            byte[] content = (byte[]) row.get(columns.image());
            image = ImageCell.bytes(content, key != null ? key : "in column '" + columns.imageName() + "'", settings.maxImageBytes());
            seed = key != null ? RowSeed.of(settings.seed(), key) : RowSeed.of(settings.seed(), content);
        }
        GenerationRequest request = new GenerationRequest(image, prompt, settings.sampling(seed), false);
        return magma.generate(request, TokenListener.NONE);
    }

    /**
     * The model's threads: the task's share times the tasks this executor runs at once (its cores
     * over {@code spark.task.cpus}), as they share the one model; default share: the task's cpus.
     */
    static int modelThreads(int threadsPerTask) {
        TaskContext task = TaskContext.get();
        int taskCpus = task != null ? Math.max(1, task.cpus()) : 1;
        int perTask = threadsPerTask > 0 ? threadsPerTask : taskCpus;
        int slots = Math.max(1, executorCores() / taskCpus);
        return Math.max(1, Math.min(Magma.maxThreads(), perTask * slots));
    }

    /** spark.executor.cores; in local mode local[N]'s N; otherwise the processors this JVM sees. */
    static int executorCores() {
        SparkEnv env = SparkEnv.get();
        SparkConf conf = env != null ? env.conf() : null;
        int processors = Runtime.getRuntime().availableProcessors();
        if (conf == null) {
            return processors;
        }
        OptionalInt local = CaptionBatch.localMasterCores(conf.get("spark.master", ""));
        if (local.isPresent()) {
            return local.getAsInt();
        }
        return conf.contains("spark.executor.cores") ? conf.getInt("spark.executor.cores", processors) : processors;
    }

    private static String executorName() {
        SparkEnv env = SparkEnv.get();
        String id = env != null ? env.executorId() : "?";
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        return "executor " + id + " (" + host + ")";
    }
}
