package io.github.magmajava.cli;

import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.spark.CaptionBatch;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code caption-batch}: {@link CaptionBatch}, the model and sampling options as {@code generate} takes them. */
@Command(name = "caption-batch", mixinStandardHelpOptions = true,
        description = {"Answer one prompt about every image under a folder or glob, on a local Spark, into JSON lines or Parquet.",
                "One row per file: path, prompt, answer, tokens, error, millis. A file that is not a readable image gets a null"
                        + " answer and the reason in error, and the run goes on. Sampling is seeded per file (--seed and its path),"
                        + " so a rerun gives the same answers. docs/spark.md."})
final class CaptionBatchCommand implements Callable<Integer> {
    enum Format {
        jsonl, parquet
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, arity = "1..*", paramLabel = "DIR|GLOB|FILE",
            description = "Folders (read recursively), files or Hadoop globs such as 'photos/*.jpg' (several are fine, so an"
                    + " unquoted glob the shell expands works too).")
    List<String> inputs;

    @Option(names = "--output", required = true, paramLabel = "PATH",
            description = "jsonl: one file of JSON lines; parquet: a Parquet folder. Written beside it, then moved into place.")
    Path output;

    @Option(names = "--format", defaultValue = "jsonl", paramLabel = "jsonl|parquet", description = "(default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--overwrite", description = "Replace --output if it exists (default: refuse).")
    boolean overwrite;

    @Option(names = "--prompt", defaultValue = "A picture of", description = "The text after each image (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--master", defaultValue = "local[*]", paramLabel = "local[N]",
            description = "The local Spark: local[N] captions N images at once on one shared model, local[*] one per processor"
                    + " (default: ${DEFAULT-VALUE}). On a cluster, submit the transformer with spark-submit (docs/spark.md).")
    String master;

    @Option(names = "--threads-per-task", paramLabel = "N", converter = OptionValues.Positive.class,
            description = "The shared model's worker threads per image in flight: the model gets N times local[N]'s count,"
                    + " at most 4 per processor (default: 1).")
    Integer threadsPerTask;

    @Option(names = "--quiet", description = "No progress on stderr, only the summary.")
    boolean quiet;

    @Mixin
    CheckpointOption checkpoint;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Mixin
    SamplingArgs sampling;

    @Mixin
    ModelFormatOptions modelFormat;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        try {
            CaptionBatch.localCores(master);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--master: " + e.getMessage());
        }
        if (!sparkPresent()) {
            throw new IllegalStateException("caption-batch needs Apache Spark's jars beside magma-cli.jar: run it as"
                    + " ./magma caption-batch (docs/spark.md)");
        }
        Path model = checkpoint.resolve(err).toAbsolutePath();
        if (!Files.isRegularFile(model)) {
            throw new IOException("--checkpoint " + model + ": No such file");
        }
        CaptionBatch.Job job = new CaptionBatch.Job(inputs, output, CaptionBatch.Format.valueOf(format.name().toUpperCase(Locale.ROOT)),
                overwrite, master, prompt, new CaptionBatch.Model(model.toString(), modelConfig(), weights(),
                        modelFormat.precision, threadsPerTask != null ? threadsPerTask : 0), sampling.toOptions());
        CaptionBatch.Result r;
        try (StatusLine line = StatusLine.open(quiet)) {
            r = CaptionBatch.run(job, new Progress(line, err));
        }
        err.printf(Locale.ROOT, "caption-batch: %d answered, %d errors, %.1f s (%.2f images/s) -> %s%n", r.answered(), r.errors(),
                r.seconds(), r.files() / r.seconds(), output);
        return 0;
    }

    /** --weights when given; null: as the checkpoint holds them (q8 for a file converted with --weights q8). */
    private WeightFormat weights() {
        return spec.commandLine().getParseResult().hasMatchedOption("--weights") ? modelFormat.weights : null;
    }

    /** Spark's task counts as our status line on a terminal, otherwise a line at most every 5 seconds. */
    private final class Progress implements CaptionBatch.Listener {
        private final StatusLine line;
        private final PrintWriter err;
        private final boolean terminal = !quiet && Boolean.getBoolean(StatusLine.TERMINAL_PROPERTY);
        private final long start = System.nanoTime();
        private long lastPrinted = start;
        private int lastDone;

        Progress(StatusLine line, PrintWriter err) {
            this.line = line;
            this.err = err;
        }

        @Override
        public void onStart(int files, int tasks, String on) {
            if (!quiet) {
                err.printf(Locale.ROOT, "caption-batch: %d files, %d tasks on %s%n", files, tasks, on);
                err.flush();
            }
        }

        @Override
        public void onProgress(int done, int tasks, long imagesAbout, int images) {
            String text = String.format(Locale.ROOT, "%d/%d tasks, about %d/%d images, %.2f images/s", done, tasks, imagesAbout,
                    images, imagesAbout / ((System.nanoTime() - start) / 1e9));
            if (terminal) {
                line.show("captioning", ": " + text);
            } else if (!quiet && done != lastDone && System.nanoTime() - lastPrinted > 5_000_000_000L) {
                err.println("caption-batch: " + text);
                err.flush();
                lastPrinted = System.nanoTime();
                lastDone = done;
            }
        }
    }

    /** A preset's name, a JSON file's absolute path, or empty: detected from the shapes. */
    private String modelConfig() {
        return config == null ? "" : config.preset != null ? config.preset.name() : config.file.toAbsolutePath().toString();
    }

    /** magma-cli.jar leaves Spark out; ./magma puts its jars on the class path for this command. */
    private static boolean sparkPresent() {
        try {
            Class.forName("org.apache.spark.sql.SparkSession", false, CaptionBatchCommand.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
