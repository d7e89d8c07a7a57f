package io.github.magmajava.spark;

import io.github.magmajava.sampling.SamplingOptions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * A ready-made cluster job for {@code spark-submit}: every image under {@code --input} (any Hadoop
 * path or glob, read by Spark's binaryFile source on the executors) captioned by
 * {@link MagmaCaptioner}, the rows ({@code path, answer, error, tokens, millis}) written by Spark's
 * own writer to {@code --output}. docs/spark.md shows the command.
 *
 * <pre>
 * spark-submit --class io.github.magmajava.spark.CaptionImages magma-spark-VERSION-bundle.jar \
 *     --input s3a://bucket/photos --output s3a://bucket/captions --checkpoint /models/mp_rank_00_model_states.pt
 * </pre>
 *
 * Options: {@code --input}, {@code --output}, {@code --checkpoint} (required); {@code --format
 * parquet|json}, {@code --prompt}, {@code --model-config}, {@code --weights}, {@code --precision},
 * {@code --threads-per-task}, {@code --max-out-tokens}, {@code --temperature}, {@code --top-k},
 * {@code --top-p}, {@code --seed}, {@code --mode error|overwrite}.
 */
public final class CaptionImages {
    private static final List<String> OPTIONS = List.of("--input", "--output", "--checkpoint", "--format", "--prompt", "--model-config",
            "--weights", "--precision", "--threads-per-task", "--max-out-tokens", "--temperature", "--top-k", "--top-p", "--seed",
            "--mode");

    private CaptionImages() {
    }

    public static void main(String[] args) {
        Map<String, String> o;
        MagmaCaptioner captioner;
        try {
            o = parse(args);
            captioner = captioner(o);
        } catch (IllegalArgumentException e) {
            System.err.println("CaptionImages: " + e.getMessage());
            System.exit(2);
            return;
        }
        SparkSession spark = SparkSession.builder().appName("magma CaptionImages").getOrCreate();
        try {
            Dataset<Row> images = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(o.get("--input"));
            Dataset<Row> answers = captioner.transform(images).select("path", "answer", "error", "tokens", "millis");
            String format = o.getOrDefault("--format", "parquet");
            answers.write().mode(o.getOrDefault("--mode", "error")).option("ignoreNullFields", "false").format(format)
                    .save(o.get("--output"));
        } finally {
            spark.stop();
        }
    }

    /**
     * The transformer the options describe, reading binaryFile's {@code content}, keyed by its {@code path}.
     *
     * @throws IllegalArgumentException naming the option whose value is not a number or out of range
     */
    static MagmaCaptioner captioner(Map<String, String> o) {
        SamplingOptions d = SamplingOptions.defaults();
        MagmaCaptioner c = new MagmaCaptioner().setCheckpoint(o.get("--checkpoint")).setImageCol("content").setKeyCol("path")
                .setTokensCol("tokens").setMillisCol("millis");
        try {
            c.setModelConfig(o.getOrDefault("--model-config", "")).setPrompt(o.getOrDefault("--prompt", "A picture of"))
                    .setWeights(o.getOrDefault("--weights", "")).setPrecision(o.getOrDefault("--precision", "exact"))
                    .setThreadsPerTask(Integer.parseInt(o.getOrDefault("--threads-per-task", "0")))
                    .setMaxNewTokens(Integer.parseInt(o.getOrDefault("--max-out-tokens", String.valueOf(d.maxNewTokens()))))
                    .setTemperature(Double.parseDouble(o.getOrDefault("--temperature", String.valueOf(d.temperature()))))
                    .setTopK(Integer.parseInt(o.getOrDefault("--top-k", String.valueOf(d.topK()))))
                    .setTopP(Double.parseDouble(o.getOrDefault("--top-p", String.valueOf(d.topP()))))
                    .setSeed(Long.parseLong(o.getOrDefault("--seed", String.valueOf(d.seed()))));
        } catch (IllegalArgumentException e) { // NumberFormatException is one; Spark's validators name the parameter
            throw new IllegalArgumentException("bad option value: " + e.getMessage(), e);
        }
        return c;
    }

    /** {@code --name value} pairs; an unknown name, a missing value or a missing required option is refused by name. */
    static Map<String, String> parse(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!OPTIONS.contains(args[i])) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "'; the options are " + OPTIONS);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            o.put(args[i], args[i + 1]);
        }
        for (String required : List.of("--input", "--output", "--checkpoint")) {
            if (!o.containsKey(required)) {
                throw new IllegalArgumentException(required + " is required");
            }
        }
        return o;
    }
}
