package io.github.magmajava.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transformer on a local[2] Spark over the tiny fixture: every answer equals the one
 * {@link Magma#generate} gives for that image (greedy, and sampled with the row's seed), bad rows
 * become error rows, persistence round-trips, and the executor loads the model once.
 */
class MagmaCaptionerTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY = FIXTURES.resolve("magma/tiny_a");
    private static final List<String> IMAGES = List.of("rgb_430x400.png", "jpeg_422_70x50.jpg", "gif_gray_64x70.gif",
            "bmp_rgb_47x39.bmp", "p_trns_50x66.png", "jpeg_progressive_83x64.jpg");
    /** local[2]: two tasks at once, sharing the executor's model with 1 thread each. */
    private static final int MODEL_THREADS = 2;

    @TempDir
    static Path dir;
    static Path images;
    static SparkSession spark;
    static Magma reference;
    /** Models loaded before this class's tests (by other test classes in this JVM). */
    static long loadsBefore;

    @BeforeAll
    static void start() throws IOException {
        ExecutorModels.closeAll();
        loadsBefore = ExecutorModels.loads();
        images = Files.createDirectories(dir.resolve("images"));
        for (String name : IMAGES) {
            Files.copy(FIXTURES.resolve("image/src").resolve(name), images.resolve(name));
        }
        byte[] png = Files.readAllBytes(FIXTURES.resolve("image/src/rgb_97x61.png"));
        Files.write(images.resolve("truncated.png"), Arrays.copyOf(png, png.length / 2));
        Files.writeString(images.resolve("notes.txt"), "not an image\n");
        spark = SparkSession.builder().master("local[2]").appName("magma-spark-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
        reference = Magma.builder(TINY.resolve("model.pt")).config(MagmaConfig.fromJson(TINY.resolve("config.json")))
                .threads(MODEL_THREADS).load();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        if (reference != null) {
            reference.close();
        }
        ExecutorModels.closeAll();
    }

    private static MagmaCaptioner captioner() {
        return new MagmaCaptioner().setCheckpoint(TINY.resolve("model.pt").toString())
                .setModelConfig(TINY.resolve("config.json").toString()).setMaxNewTokens(5);
    }

    private static Dataset<Row> binaryFiles() {
        return spark.read().format("binaryFile").load(images.toString());
    }

    /** What Magma.generate answers for the image at {@code file}. */
    private static String expected(Path file, String prompt, SamplingOptions options) throws IOException {
        return reference.generate(new GenerationRequest(ImageInput.file(file), prompt, options, false), TokenListener.NONE).text();
    }

    private static Path local(String path) {
        return Path.of(java.net.URI.create(path));
    }

    @Test
    void greedyAnswersEqualMagmaGenerateAndBadFilesBecomeErrorRows() throws IOException {
        List<Row> rows = captioner().setTemperature(0).setTokensCol("tokens").transform(binaryFiles().repartition(4))
                .select("path", "answer", "error", "tokens").collectAsList();

        assertThat(rows).hasSize(IMAGES.size() + 2);
        SamplingOptions greedy = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(5);
        for (Row row : rows) {
            Path file = local(row.getString(0));
            String name = file.getFileName().toString();
            if (IMAGES.contains(name)) {
                assertThat(row.isNullAt(2)).as("error of %s: %s", name, row.get(2)).isTrue();
                assertThat(row.getString(1)).as(name).isEqualTo(expected(file, "A picture of", greedy));
                assertThat(row.getList(3)).as(name).isNotEmpty();
            } else {
                assertThat(row.isNullAt(1)).as(name).isTrue();
                assertThat(row.isNullAt(3)).as(name).isTrue();
                assertThat(row.getString(2)).as(name).contains(name);
            }
        }
        // Four partitions over two task slots, and the other tests' jobs: one load in all.
        assertThat(ExecutorModels.loads() - loadsBefore).isEqualTo(1);
    }

    @Test
    void sampledAnswersUseTheRowsSeedAndRepeat() throws IOException {
        // Hot enough that the answer depends on the seed: twenty seeds give at least ten different answers.
        SamplingOptions hot = new SamplingOptions(5, 3f, 0, 1f, 0);
        java.util.Set<String> answers = new java.util.HashSet<>();
        for (long s = 0; s < 20; s++) {
            answers.add(expected(images.resolve(IMAGES.get(0)), "A picture of", hot.withSeed(s)));
        }
        assertThat(answers).hasSizeGreaterThanOrEqualTo(10);

        MagmaCaptioner sampled = captioner().setTemperature(3).setTopP(1).setSeed(42);
        List<Row> first = sampled.transform(binaryFiles().repartition(3)).select("path", "answer").orderBy("path").collectAsList();
        List<Row> again = sampled.transform(binaryFiles().repartition(1)).select("path", "answer").orderBy("path").collectAsList();

        assertThat(again).isEqualTo(first);
        int sampledImages = 0;
        for (Row row : first) {
            Path file = local(row.getString(0));
            if (IMAGES.contains(file.getFileName().toString())) {
                SamplingOptions options = hot.withSeed(RowSeed.of(42, row.getString(0)));
                assertThat(row.getString(1)).as(file.toString()).isEqualTo(expected(file, "A picture of", options));
                sampledImages++;
            }
        }
        assertThat(sampledImages).isEqualTo(IMAGES.size());
        assertThat(ExecutorModels.loads() - loadsBefore).isEqualTo(1);
    }

    @Test
    void pathColumnAndPromptColumnWithMissingAndOversizedImages() throws IOException {
        StructType schema = new StructType().add("file", DataTypes.StringType).add("question", DataTypes.StringType);
        Path big = images.resolve("rgb_430x400.png");
        List<Row> input = List.of(
                RowFactory.create(images.resolve("jpeg_422_70x50.jpg").toString(), "Q: what is it? A:"),
                RowFactory.create(images.resolve("gif_gray_64x70.gif").toString(), "A photo of"),
                RowFactory.create(images.resolve("missing.jpg").toString(), "A photo of"),
                RowFactory.create(big.toString(), "A photo of"),
                RowFactory.create(images.resolve("bmp_rgb_47x39.bmp").toString(), null),
                RowFactory.create(null, "A photo of"));
        MagmaCaptioner captioner = captioner().setTemperature(0).setImageCol("file").setPromptCol("question")
                .setMaxImageBytes(Files.size(big) - 1);
        List<Row> rows = captioner.transform(spark.createDataFrame(input, schema)).collectAsList();

        SamplingOptions greedy = SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(5);
        assertThat(rows.get(0).getString(2)).isEqualTo(expected(images.resolve("jpeg_422_70x50.jpg"), "Q: what is it? A:", greedy));
        assertThat(rows.get(1).getString(2)).isEqualTo(expected(images.resolve("gif_gray_64x70.gif"), "A photo of", greedy));
        Map<Integer, String> errors = new HashMap<>();
        for (int i = 2; i < rows.size(); i++) {
            assertThat(rows.get(i).isNullAt(2)).isTrue();
            errors.put(i, rows.get(i).getString(3));
        }
        assertThat(errors.get(2)).contains("missing.jpg").contains("does not exist");
        assertThat(errors.get(3)).contains("rgb_430x400.png").contains("maxImageBytes");
        assertThat(errors.get(4)).contains("prompt column 'question' is null");
        assertThat(errors.get(5)).contains("image column 'file' is null");
    }

    @Test
    void savedAndLoadedInAPipelineGivesTheSameAnswers() throws IOException {
        MagmaCaptioner captioner = captioner().setTemperature(0.8).setSeed(7).setPrompt("An image of").setOutputCol("caption");
        Path saved = dir.resolve("captioner");
        captioner.write().save(saved.toString());
        MagmaCaptioner loaded = MagmaCaptioner.load(saved.toString());
        assertThat(loaded.uid()).isEqualTo(captioner.uid());
        assertThat(loaded.getPrompt()).isEqualTo("An image of");
        assertThat(loaded.getSeed()).isEqualTo(7);

        PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {captioner}).fit(binaryFiles());
        Path savedPipeline = dir.resolve("pipeline");
        pipeline.write().save(savedPipeline.toString());
        PipelineModel loadedPipeline = PipelineModel.load(savedPipeline.toString());

        List<Row> original = captioner.transform(binaryFiles()).select("path", "caption", "error").orderBy("path").collectAsList();
        assertThat(loaded.transform(binaryFiles()).select("path", "caption", "error").orderBy("path").collectAsList())
                .isEqualTo(original);
        assertThat(loadedPipeline.transform(binaryFiles()).select("path", "caption", "error").orderBy("path").collectAsList())
                .isEqualTo(original);
        assertThat(original.stream().filter(r -> !r.isNullAt(1)).count()).isEqualTo(IMAGES.size());
    }

    @Test
    void aMissingCheckpointFailsTheJobNamingTheExecutorsPath() {
        Path missing = dir.resolve("no-such-model.pt");
        MagmaCaptioner captioner = captioner().setCheckpoint(missing.toString());
        assertThatThrownBy(() -> captioner.transform(binaryFiles()).collectAsList())
                .hasStackTraceContaining("the MAGMA checkpoint " + missing + " is not a file on executor driver");
    }

    @Test
    void badParametersAreRefusedByName() {
        assertThatThrownBy(() -> captioner().setWeights("int4")).hasMessageContaining("weights");
        assertThatThrownBy(() -> captioner().setTopP(0)).hasMessageContaining("topP");
        assertThatThrownBy(() -> captioner().setImageCol("pixels").transformSchema(binaryFiles().schema()))
                .hasMessageContaining("imageCol 'pixels' is not a column");
        assertThatThrownBy(() -> captioner().setOutputCol("path").transformSchema(binaryFiles().schema()))
                .hasMessageContaining("outputCol 'path' is already a column");
        assertThatThrownBy(() -> captioner().setImageCol("length").transformSchema(binaryFiles().schema()))
                .hasMessageContaining("imageCol 'length' is bigint");
    }
}
