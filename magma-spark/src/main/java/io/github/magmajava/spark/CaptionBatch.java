package io.github.magmajava.spark;

import io.github.magmajava.backend.Precision;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.SparkThrowable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code magma caption-batch}: every file under some inputs through a {@link MagmaCaptioner} on a
 * local Spark, one row per file ({@code path, prompt, answer, tokens, error, millis}) written
 * whole to the output: JSON lines in one file, or a Parquet folder. What a cluster job does with
 * the same transformer, run on one machine (docs/spark.md).
 */
public final class CaptionBatch {
    /** The columns written, in order. */
    public static final List<String> COLUMNS = List.of("path", "prompt", "answer", "tokens", "error", "millis");
    private static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|[1-9]\\d*)(?:,\\s*[1-9]\\d*)?])?");
    /** Spark's logging here: warnings and errors only, on stderr, without a local run's usual notices. */
    private static final String LOG_CONFIG = "magma-caption-batch-log4j2.properties";

    public enum Format {
        JSONL, PARQUET
    }

    /**
     * A run: the files under {@code inputs} (folders read recursively, files, Hadoop globs), the
     * output, the local master ({@code local}, {@code local[N]}, {@code local[*]}), the prompt, the
     * model and the sampling ({@link MagmaCaptioner}'s parameters of the same names). Plain values,
     * so a caller compiles without Spark.
     */
    public record Job(List<String> inputs, Path output, Format format, boolean overwrite, String master, String prompt, Model model,
            SamplingOptions sampling) {
        public Job {
            inputs = List.copyOf(inputs);
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(format, "format");
            Objects.requireNonNull(master, "master");
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(sampling, "sampling");
            if (inputs.isEmpty()) {
                throw new IllegalArgumentException("no inputs");
            }
        }
    }

    /**
     * The model parameters of {@link MagmaCaptioner}: modelConfig empty to detect it, weights null
     * for the checkpoint's own, threadsPerTask 0 for spark.task.cpus.
     */
    public record Model(String checkpoint, String modelConfig, WeightFormat weights, Precision precision, int threadsPerTask) {
        public Model {
            Objects.requireNonNull(checkpoint, "checkpoint");
            Objects.requireNonNull(modelConfig, "modelConfig");
            Objects.requireNonNull(precision, "precision");
        }
    }

    /** Told of the run's progress, from a thread of its own. */
    public interface Listener {
        /** The files found and the tasks they are split into. */
        default void onStart(int files, int tasks, String master) {
        }

        /** Every half second while captioning: tasks done of all, and the images that stands for. */
        default void onProgress(int tasksDone, int tasks, long imagesAbout, int images) {
        }
    }

    /** How it went: files captioned, rows with an error, seconds from the start of Spark to the output in place. */
    public record Result(int files, long answered, long errors, double seconds) {
    }

    private CaptionBatch() {
    }

    /** The images local[N] runs at once, or an exception naming {@code --master}'s forms. */
    public static int localCores(String master) {
        return localMasterCores(master).orElseThrow(() -> new IllegalArgumentException("the master must be local, local[N] or"
                + " local[*], found '" + master + "'; on a cluster, run MagmaCaptioner with spark-submit (docs/spark.md)"));
    }

    /** The tasks a local master ({@code local}, {@code local[N]}, {@code local[*]}, with or without retries) runs at once; empty for any other. */
    static OptionalInt localMasterCores(String master) {
        Matcher m = LOCAL_MASTER.matcher(master.strip());
        if (!m.matches()) {
            return OptionalInt.empty();
        }
        String n = m.group(1);
        return OptionalInt.of(n == null ? 1 : n.equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(n));
    }

    /**
     * Runs {@code job}.
     *
     * @throws IOException with the task's own message when Spark fails the job (a missing
     *     checkpoint, an unreadable input), or when the output cannot be written
     */
    public static Result run(Job job, Listener listener) throws IOException {
        int cores = localCores(job.master());
        checkOutput(job);
        if (System.getProperty("log4j2.configurationFile") == null && System.getProperty("log4j.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", LOG_CONFIG);
        }
        long start = System.nanoTime();
        SparkSession spark = SparkSession.builder().master(job.master()).appName("magma caption-batch")
                .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                .config("spark.driver.host", "localhost").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            List<String> files = list(spark, job.inputs());
            int tasks = Math.max(1, Math.min(files.size(), Math.max(4 * cores, (files.size() + 63) / 64)));
            listener.onStart(files.size(), tasks, job.master());
            StructType schema = new StructType().add("path", DataTypes.StringType, false);
            List<Row> rows = files.stream().map(RowFactory::create).toList();
            Dataset<Row> paths = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, tasks),
                    schema);
            Dataset<Row> answers = captioner(job).transform(paths.withColumn("prompt", functions.lit(job.prompt())))
                    .select(COLUMNS.stream().map(functions::col).toArray(org.apache.spark.sql.Column[]::new));
            Thread progress = progress(spark, files.size(), listener);
            try {
                write(answers, job);
            } finally {
                progress.interrupt();
            }
            Dataset<Row> written = read(spark, job);
            long total = written.count();
            long errors = written.filter(functions.col("error").isNotNull()).count();
            return new Result(files.size(), total - errors, errors, (System.nanoTime() - start) / 1e9);
        } catch (Exception e) {
            // Spark's failures (SparkException is checked, thrown through Scala undeclared): the task's own message.
            if (e instanceof SparkThrowable) {
                throw new IOException(rootMessage(e), e);
            }
            throw e;
        } finally {
            spark.stop();
        }
    }

    /** The transformer of {@code job}, reading the paths and writing {@link #COLUMNS}. */
    static MagmaCaptioner captioner(Job job) {
        Model m = job.model();
        SamplingOptions o = job.sampling();
        return new MagmaCaptioner().setCheckpoint(m.checkpoint()).setModelConfig(m.modelConfig()).setWeights(m.weights() == null ? "" : m.weights().cliName())
                .setPrecision(m.precision().cliName()).setThreadsPerTask(m.threadsPerTask()).setMaxNewTokens(o.maxNewTokens())
                .setTemperature(o.temperature()).setTopK(o.topK()).setTopP(o.topP()).setSeed(o.seed()).setImageCol("path")
                .setKeyCol("path").setPromptCol("prompt").setOutputCol("answer").setErrorCol("error").setTokensCol("tokens")
                .setMillisCol("millis");
    }

    /** The output as Spark reads it back. */
    public static Dataset<Row> read(SparkSession spark, Job job) {
        String uri = job.output().toAbsolutePath().toUri().toString();
        return job.format() == Format.PARQUET ? spark.read().parquet(uri) : spark.read().json(uri);
    }

    /** The files under the inputs as Spark lists them (recursively, hidden files left out), sorted, as local paths where local. */
    private static List<String> list(SparkSession spark, List<String> inputs) {
        List<String> listed = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                .load(inputs.toArray(String[]::new)).select("path").as(Encoders.STRING()).collectAsList();
        List<String> files = new ArrayList<>();
        for (String uri : listed) {
            java.net.URI u = new org.apache.hadoop.fs.Path(uri).toUri();
            files.add("file".equals(u.getScheme()) ? u.getPath() : uri);
        }
        files.sort(Comparator.naturalOrder());
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no files under " + String.join(" ", inputs));
        }
        return files;
    }

    /** {@code answers} into a folder beside the output, then moved into place: one file of JSON lines, or the Parquet folder. */
    private static void write(Dataset<Row> answers, Job job) throws IOException {
        Path target = job.output().toAbsolutePath();
        Path staging = target.resolveSibling("." + target.getFileName() + ".magma-" + UUID.randomUUID());
        try {
            if (job.format() == Format.PARQUET) {
                answers.write().parquet(staging.toUri().toString());
                replace(staging, target);
            } else {
                answers.write().option("ignoreNullFields", "false").json(staging.toUri().toString());
                Path lines = target.resolveSibling(staging.getFileName() + ".jsonl");
                try {
                    concatenate(staging, lines);
                    replace(lines, target);
                } finally {
                    Files.deleteIfExists(lines);
                }
            }
        } finally {
            deleteTree(staging);
        }
    }

    /** Spark's part files in their order, which is the rows' order, as one file. */
    private static void concatenate(Path parts, Path file) throws IOException {
        List<Path> names;
        try (Stream<Path> s = Files.list(parts)) {
            names = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            for (Path part : names) {
                Files.copy(part, out);
            }
        }
    }

    /** {@code from} moved to {@code to}: atomically for a file; a folder already there is moved aside first, then removed. */
    private static void replace(Path from, Path to) throws IOException {
        if (Files.isDirectory(to)) {
            Path old = to.resolveSibling("." + to.getFileName() + ".magma-old-" + UUID.randomUUID());
            Files.move(to, old);
            Files.move(from, to);
            deleteTree(old);
            return;
        }
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Refuses, before Spark starts, an output that could only fail at the end. */
    private static void checkOutput(Job job) throws IOException {
        Path output = job.output();
        if (Files.exists(output) && !job.overwrite()) {
            throw new IOException("output " + output + " exists (overwrite to replace it)");
        }
        if (job.format() == Format.JSONL && Files.isDirectory(output)) {
            throw new IOException("output " + output + " is a folder (JSON lines are written as one file)");
        }
        if (job.format() == Format.PARQUET && Files.exists(output) && !Files.isDirectory(output)) {
            throw new IOException("output " + output + " is a file (Parquet is written as a folder)");
        }
        Path parent = output.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new IOException("output " + output + ": the folder " + parent + " does not exist");
        }
        if (!Files.isWritable(parent)) {
            throw new IOException("output " + output + ": cannot create files in " + parent);
        }
    }

    /** The message at the bottom of a Spark failure: the task's own exception, not the scheduler's story around it. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        int line = m.indexOf('\n');
        return line > 0 ? m.substring(0, line) : m;
    }

    /** A daemon thread telling {@code listener} the running stages' task counts every half second. */
    private static Thread progress(SparkSession spark, int files, Listener listener) {
        return Thread.ofPlatform().daemon().name("caption-batch-progress").start(() -> {
            var tracker = JavaSparkContext.fromSparkContext(spark.sparkContext()).statusTracker();
            while (!Thread.currentThread().isInterrupted()) {
                int done = 0;
                int total = 0;
                for (int id : tracker.getActiveStageIds()) {
                    SparkStageInfo stage = tracker.getStageInfo(id);
                    if (stage != null) {
                        done += stage.numCompletedTasks();
                        total += stage.numTasks();
                    }
                }
                if (total > 0) {
                    listener.onProgress(done, total, (long) files * done / total, files);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }
}
