package io.github.magmajava.spark;

import io.github.magmajava.backend.Precision;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * MAGMA as a Spark ML {@link Transformer}: each row's image (a binary column, as Spark's
 * {@code binaryFile} source gives, or a path string) and prompt (a column, or one fixed prompt) in,
 * the answer appended in {@link #outputCol()}, or null and the reason in {@link #errorCol()} when
 * the row's image is missing, corrupt or too large (the job goes on).
 *
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").load("hdfs:///photos/*.jpg");
 * MagmaCaptioner captioner = new MagmaCaptioner().setCheckpoint("/models/mp_rank_00_model_states.pt")
 *         .setPrompt("A picture of").setTemperature(0);
 * captioner.transform(images).select("path", "answer", "error").write().parquet("captions");
 * }</pre>
 *
 * Each executor JVM loads the model once, on first use, and its tasks share it
 * ({@link ExecutorModels}); the checkpoint must be at the same path on every node, or given as an
 * http(s) URL. Sampling is deterministic per row: the seed is {@link #seed()} mixed with the row's
 * key ({@link RowSeed}), so re-runs and retried tasks give the same answers. docs/spark.md.
 */
public final class MagmaCaptioner extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> checkpoint;
    private final Param<String> modelConfig;
    private final Param<String> imageCol;
    private final Param<String> keyCol;
    private final Param<String> promptCol;
    private final Param<String> prompt;
    private final Param<String> outputCol;
    private final Param<String> errorCol;
    private final Param<String> tokensCol;
    private final Param<String> millisCol;
    private final IntParam maxNewTokens;
    private final DoubleParam temperature;
    private final IntParam topK;
    private final DoubleParam topP;
    private final LongParam seed;
    private final Param<String> weights;
    private final Param<String> precision;
    private final IntParam threadsPerTask;
    private final LongParam maxImageBytes;

    public MagmaCaptioner() {
        this(Identifiable$.MODULE$.randomUID("magmaCaptioner"));
    }

    /** For ML persistence, which makes a transformer with its saved uid. */
    public MagmaCaptioner(String uid) {
        this.uid = uid;
        SamplingOptions d = SamplingOptions.defaults();
        checkpoint = new Param<>(this, "checkpoint", "the MAGMA checkpoint: a path that exists on every executor, or an http(s)"
                + " URL each node downloads once into its cache directory");
        modelConfig = new Param<>(this, "modelConfig", "a preset (magma_v1_500, magma_v1_1024) or a model config JSON file;"
                + " empty: detected from the checkpoint's shapes");
        imageCol = new Param<>(this, "imageCol", "the image column: binary (encoded PNG, JPEG, GIF or BMP, as from the"
                + " binaryFile source) or a path string");
        keyCol = new Param<>(this, "keyCol", "the column whose value seeds the row's sampling (with seed); absent or null:"
                + " the image's path or bytes");
        promptCol = new Param<>(this, "promptCol", "the prompt column; empty: every row gets prompt");
        prompt = new Param<>(this, "prompt", "the text after the image, when promptCol is empty");
        outputCol = new Param<>(this, "outputCol", "the answer column (null for a row that failed)");
        errorCol = new Param<>(this, "errorCol", "the column saying why a row has no answer (null when it has one)");
        tokensCol = new Param<>(this, "tokensCol", "if set, a column of the generated token ids");
        millisCol = new Param<>(this, "millisCol", "if set, a column of the milliseconds each row took");
        maxNewTokens = new IntParam(this, "maxNewTokens", "at most this many new tokens (>= 1)", ParamValidators.gtEq(1));
        temperature = new DoubleParam(this, "temperature", "sampling temperature, >= 0; 0 picks the most likely token",
                ParamValidators.gtEq(0));
        topK = new IntParam(this, "topK", "keep the k most likely tokens; 0 keeps all", ParamValidators.gtEq(0));
        topP = new DoubleParam(this, "topP", "nucleus sampling mass in (0, 1]", ParamValidators.inRange(0, 1, false, true));
        seed = new LongParam(this, "seed", "the sampling seed, mixed with each row's key");
        weights = new Param<>(this, "weights", "fp16, q8 (int8 blocks, made once per node into its cache directory), or empty:"
                + " as the checkpoint holds them (q8 for a file converted with --weights q8)",
                ParamValidators.inArray(new String[] {"", "fp16", "q8"}));
        precision = new Param<>(this, "precision", "exact (float32, PyTorch within rounding) or fast (bfloat16 image encoder and"
                + " prompt GEMMs)", ParamValidators.inArray(new String[] {"exact", "fast"}));
        threadsPerTask = new IntParam(this, "threadsPerTask", "the model's worker threads per concurrent task (the executor's"
                + " tasks share one model with this many threads each); 0: spark.task.cpus", ParamValidators.gtEq(0));
        maxImageBytes = new LongParam(this, "maxImageBytes", "rows whose encoded image is larger get an error", ParamValidators.gt(0));

        setDefault(modelConfig, "");
        setDefault(imageCol, "content");
        setDefault(keyCol, "path");
        setDefault(promptCol, "");
        setDefault(prompt, "A picture of");
        setDefault(outputCol, "answer");
        setDefault(errorCol, "error");
        setDefault(tokensCol, "");
        setDefault(millisCol, "");
        setDefault(maxNewTokens, d.maxNewTokens());
        setDefault(temperature, (double) d.temperature());
        setDefault(topK, d.topK());
        setDefault(topP, (double) d.topP());
        setDefault(seed, d.seed());
        setDefault(weights, "");
        setDefault(precision, Precision.EXACT.cliName());
        setDefault(threadsPerTask, 0);
        setDefault(maxImageBytes, 64L << 20);
    }

    /** Reads a transformer saved by {@code write().save(path)}. */
    public static MLReader<MagmaCaptioner> read() {
        return new DefaultParamsReadable<MagmaCaptioner>() {
        }.read();
    }

    public static MagmaCaptioner load(String path) {
        return read().load(path);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        StructField image = field(schema, value(imageCol), "imageCol");
        if (!image.dataType().equals(DataTypes.BinaryType) && !image.dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("imageCol '" + image.name() + "' is " + image.dataType().simpleString()
                    + "; it must be binary (encoded image bytes) or a string (a path)");
        }
        if (!value(promptCol).isEmpty()) {
            StructField p = field(schema, value(promptCol), "promptCol");
            if (!p.dataType().equals(DataTypes.StringType)) {
                throw new IllegalArgumentException("promptCol '" + p.name() + "' is " + p.dataType().simpleString() + ", not a string");
            }
        }
        StructType out = schema;
        out = append(out, value(outputCol), "outputCol", DataTypes.StringType);
        out = append(out, value(errorCol), "errorCol", DataTypes.StringType);
        if (!value(tokensCol).isEmpty()) {
            out = append(out, value(tokensCol), "tokensCol", DataTypes.createArrayType(DataTypes.IntegerType, false));
        }
        if (!value(millisCol).isEmpty()) {
            out = append(out, value(millisCol), "millisCol", DataTypes.LongType);
        }
        return out;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType in = dataset.schema();
        StructType out = transformSchema(in);
        if (value(checkpoint).isBlank()) {
            throw new IllegalArgumentException("MagmaCaptioner's checkpoint parameter is not set (setCheckpoint)");
        }
        WeightFormat format = value(weights).isEmpty() ? null : WeightFormat.parse(value(weights));
        PartitionCaptioner.Settings settings = new PartitionCaptioner.Settings(value(checkpoint), value(modelConfig), format,
                Precision.valueOf(value(precision).toUpperCase(Locale.ROOT)), value(threadsPerTask), value(maxNewTokens),
                (float) value(temperature), value(topK), (float) value(topP), value(seed), value(prompt), value(maxImageBytes),
                !value(tokensCol).isEmpty(), !value(millisCol).isEmpty());
        List<String> names = Arrays.asList(in.fieldNames());
        String image = value(imageCol);
        PartitionCaptioner.Columns columns = new PartitionCaptioner.Columns(in.fieldIndex(image),
                in.apply(image).dataType().equals(DataTypes.StringType), image, names.indexOf(value(keyCol)),
                value(promptCol).isEmpty() ? -1 : in.fieldIndex(value(promptCol)), value(promptCol));
        SparkSession spark = dataset.sparkSession();
        var hadoop = SerializableConfiguration.broadcast(spark.sparkContext());
        return dataset.toDF().mapPartitions(new PartitionCaptioner(settings, columns, hadoop), Encoders.row(out));
    }

    @Override
    public MagmaCaptioner copy(ParamMap extra) {
        return (MagmaCaptioner) defaultCopy(extra);
    }

    private static StructField field(StructType schema, String name, String param) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(param + " '" + name + "' is not a column; the columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        return schema.apply(name);
    }

    private static StructType append(StructType schema, String name, String param, DataType type) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException(param + " is empty");
        }
        if (Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(param + " '" + name + "' is already a column of the input");
        }
        return schema.add(name, type, true);
    }

    private String value(Param<String> param) {
        return getOrDefault(param);
    }

    private int value(IntParam param) {
        return (Integer) getOrDefault(param);
    }

    private long value(LongParam param) {
        return (Long) getOrDefault(param);
    }

    private double value(DoubleParam param) {
        return (Double) getOrDefault(param);
    }

    // The parameters (Spark ML finds them by these public no-argument methods), their getters and setters.

    public Param<String> checkpoint() { return checkpoint; }
    public Param<String> modelConfig() { return modelConfig; }
    public Param<String> imageCol() { return imageCol; }
    public Param<String> keyCol() { return keyCol; }
    public Param<String> promptCol() { return promptCol; }
    public Param<String> prompt() { return prompt; }
    public Param<String> outputCol() { return outputCol; }
    public Param<String> errorCol() { return errorCol; }
    public Param<String> tokensCol() { return tokensCol; }
    public Param<String> millisCol() { return millisCol; }
    public IntParam maxNewTokens() { return maxNewTokens; }
    public DoubleParam temperature() { return temperature; }
    public IntParam topK() { return topK; }
    public DoubleParam topP() { return topP; }
    public LongParam seed() { return seed; }
    public Param<String> weights() { return weights; }
    public Param<String> precision() { return precision; }
    public IntParam threadsPerTask() { return threadsPerTask; }
    public LongParam maxImageBytes() { return maxImageBytes; }

    public String getCheckpoint() { return value(checkpoint); }
    public String getModelConfig() { return value(modelConfig); }
    public String getImageCol() { return value(imageCol); }
    public String getKeyCol() { return value(keyCol); }
    public String getPromptCol() { return value(promptCol); }
    public String getPrompt() { return value(prompt); }
    public String getOutputCol() { return value(outputCol); }
    public String getErrorCol() { return value(errorCol); }
    public String getTokensCol() { return value(tokensCol); }
    public String getMillisCol() { return value(millisCol); }
    public int getMaxNewTokens() { return value(maxNewTokens); }
    public double getTemperature() { return value(temperature); }
    public int getTopK() { return value(topK); }
    public double getTopP() { return value(topP); }
    public long getSeed() { return value(seed); }
    public String getWeights() { return value(weights); }
    public String getPrecision() { return value(precision); }
    public int getThreadsPerTask() { return value(threadsPerTask); }
    public long getMaxImageBytes() { return value(maxImageBytes); }

    public MagmaCaptioner setCheckpoint(String value) { return with(checkpoint, value); }
    public MagmaCaptioner setModelConfig(String value) { return with(modelConfig, value); }
    public MagmaCaptioner setImageCol(String value) { return with(imageCol, value); }
    public MagmaCaptioner setKeyCol(String value) { return with(keyCol, value); }
    public MagmaCaptioner setPromptCol(String value) { return with(promptCol, value); }
    public MagmaCaptioner setPrompt(String value) { return with(prompt, value); }
    public MagmaCaptioner setOutputCol(String value) { return with(outputCol, value); }
    public MagmaCaptioner setErrorCol(String value) { return with(errorCol, value); }
    public MagmaCaptioner setTokensCol(String value) { return with(tokensCol, value); }
    public MagmaCaptioner setMillisCol(String value) { return with(millisCol, value); }
    public MagmaCaptioner setMaxNewTokens(int value) { return with(maxNewTokens, value); }
    public MagmaCaptioner setTemperature(double value) { return with(temperature, value); }
    public MagmaCaptioner setTopK(int value) { return with(topK, value); }
    public MagmaCaptioner setTopP(double value) { return with(topP, value); }
    public MagmaCaptioner setSeed(long value) { return with(seed, value); }
    public MagmaCaptioner setWeights(String value) { return with(weights, value); }
    public MagmaCaptioner setPrecision(String value) { return with(precision, value); }
    public MagmaCaptioner setThreadsPerTask(int value) { return with(threadsPerTask, value); }
    public MagmaCaptioner setMaxImageBytes(long value) { return with(maxImageBytes, value); }

    /** Sets a parameter; Spark's validators reject a bad value here, naming the parameter. */
    private <T> MagmaCaptioner with(Param<T> param, T value) {
        set(param, value);
        return this;
    }
}
