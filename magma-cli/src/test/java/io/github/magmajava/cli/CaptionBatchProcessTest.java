package io.github.magmajava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.spark.RowSeed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code caption-batch} end to end: a process started as ./magma starts it (tools/magma-java,
 * magma-spark's Spark jars and JVM flags), on a folder of fixture images, to JSON lines and to
 * Parquet, the Parquet read back by Spark in another process.
 */
class CaptionBatchProcessTest {
    private static final Path ROOT = Path.of(System.getProperty("magma.root"));
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY = FIXTURES.resolve("magma/tiny_a");
    private static final List<String> IMAGES = List.of("rgb_45x80.png", "jpeg_rgb_83x64.jpg", "bmp_32bit_41x29.bmp");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path images;

    @BeforeAll
    static void images() throws IOException {
        images = Files.createDirectories(dir.resolve("images"));
        for (String name : IMAGES) {
            Files.copy(FIXTURES.resolve("image/src").resolve(name), images.resolve(name));
        }
        Files.writeString(images.resolve("notes.txt"), "not an image\n");
    }

    record Run(int exit, String out, String err) {
    }

    /** {@code java @spark-driver.args -cp SPARK:THIS_CLASSPATH main args}, through tools/magma-java. */
    private static Run run(String main, String... args) throws IOException, InterruptedException {
        return run(true, main, args);
    }

    /** As {@link #run(String, String...)}; without this JVM's class path, the JVM has Spark's jars alone (spark-submit's). */
    static Run run(boolean withTestClassPath, String main, String... args) throws IOException, InterruptedException {
        String sparkJars = Files.readString(Path.of(System.getProperty("magma.spark.classpath"))).strip();
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("tools/magma-java").toString(), System.getProperty("java.home"),
                "@" + System.getProperty("magma.spark.args"), "-cp", sparkJars + (withTestClassPath ? java.io.File.pathSeparator
                        + System.getProperty("java.class.path") : ""), main));
        command.addAll(Arrays.asList(args));
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("MAGMA_JAVA_OPTS");
        int exit = CliProcessTest.waitFor(pb.start());
        return new Run(exit, Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static Run captionBatch(Path output, String format) throws IOException, InterruptedException {
        return run(MagmaCli.class.getName(), "caption-batch", "--input", images.toString(), "--output", output.toString(),
                "--format", format, "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--master", "local[2]", "--prompt", "Q: what is this? A:",
                "--max-out-tokens", "4", "--temperature", "3", "--top-p", "1", "--seed", "11");
    }

    /** What Magma.generate answers for each image, sampled with the image's row seed. */
    private static List<String> expectedRows() throws IOException {
        return expectedRows(new SamplingOptions(4, 3f, 0, 1f, 11), "Q: what is this? A:", false);
    }

    /** What Magma.generate answers for each image (keyed by its path, or its file: URI as binaryFile gives it). */
    static List<String> expectedRows(SamplingOptions sampling, String prompt, boolean uriKeys) throws IOException {
        List<String> rows = new ArrayList<>();
        try (Magma magma = Magma.builder(TINY.resolve("model.pt")).config(MagmaConfig.fromJson(TINY.resolve("config.json")))
                .threads(2).load()) {
            for (String name : IMAGES.stream().sorted().toList()) {
                Path file = images.resolve(name);
                String path = uriKeys ? "file:" + file : file.toString();
                SamplingOptions options = sampling.withSeed(RowSeed.of(sampling.seed(), path));
                Generation g = magma.generate(new GenerationRequest(ImageInput.file(file), prompt, options, false), TokenListener.NONE);
                rows.add(path + " | " + g.text() + " | " + Arrays.toString(g.tokens()));
            }
        }
        return rows;
    }

    private static String row(JsonNode r) {
        List<Integer> tokens = new ArrayList<>();
        r.get("tokens").forEach(t -> tokens.add(t.asInt()));
        return r.get("path").asText() + " | " + r.get("answer").asText() + " | " + tokens;
    }

    @Test
    void jsonLinesOneRowPerFileInPathOrderAsMagmaGenerateAnswersQuietly() throws Exception {
        Path out = dir.resolve("captions.jsonl");
        Run run = captionBatch(out, "jsonl");

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).isEmpty();
        // Spark's own logging stays at warnings, and a local run has none: only our lines.
        assertThat(run.err().lines()).allMatch(l -> l.startsWith("caption-batch: "), "only caption-batch's lines:\n" + run.err());
        assertThat(run.err()).contains("caption-batch: 3 answered, 1 errors");
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            rows.add(JSON.readTree(line));
        }
        assertThat(rows).extracting(r -> r.get("path").asText()).isSorted().hasSize(IMAGES.size() + 1);
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.get("prompt").asText()).isEqualTo("Q: what is this? A:");
            assertThat(r.has("millis")).isTrue();
        });
        JsonNode notes = rows.stream().filter(r -> r.get("path").asText().endsWith("notes.txt")).findFirst().orElseThrow();
        assertThat(notes.get("answer").isNull()).isTrue();
        assertThat(notes.get("tokens").isNull()).isTrue();
        assertThat(notes.get("error").asText()).contains("notes.txt").contains("not a PNG, JPEG, GIF or BMP image");
        assertThat(rows.stream().filter(r -> r.get("error").isNull()).map(CaptionBatchProcessTest::row).toList())
                .containsExactlyElementsOf(expectedRows());
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.contains("magma-"))).isEmpty();
        }
    }

    @Test
    void parquetReadBackBySparkHasTheSameRows() throws Exception {
        Path out = dir.resolve("captions.parquet");
        Run run = captionBatch(out, "parquet");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(Files.isDirectory(out)).isTrue();

        // Spark in a process of its own reads the folder: java runs this one source file.
        Path reader = Files.writeString(dir.resolve("ReadParquet.java"), """
                import org.apache.spark.sql.SparkSession;
                public class ReadParquet {
                    public static void main(String[] args) {
                        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
                        spark.read().parquet(args[0]).orderBy("path").toJSON().collectAsList().forEach(System.out::println);
                        System.out.println("schema " + spark.read().parquet(args[0]).schema().simpleString());
                        spark.stop();
                    }
                }
                """);
        Run read = run(reader.toString(), out.toString());
        assertThat(read.exit()).as(read.err()).isZero();
        List<String> lines = read.out().lines().toList();
        assertThat(lines.getLast()).isEqualTo("schema struct<path:string,prompt:string,answer:string,tokens:array<int>,"
                + "error:string,millis:bigint>");
        List<JsonNode> rows = new ArrayList<>();
        for (String line : lines.subList(0, lines.size() - 1)) {
            rows.add(JSON.readTree(line));
        }
        assertThat(rows).hasSize(IMAGES.size() + 1);
        assertThat(rows.stream().filter(r -> r.get("error") == null || r.get("error").isNull()).map(CaptionBatchProcessTest::row)
                .toList()).containsExactlyElementsOf(expectedRows());
    }

    @Test
    void theBundleJarRunsUnderSparkSubmit() throws Exception {
        Path target = ROOT.resolve("magma-spark/target");
        Path bundle;
        try (Stream<Path> s = Files.list(target)) {
            bundle = s.filter(p -> p.getFileName().toString().endsWith("-bundle.jar")).findFirst().orElseThrow(() -> new AssertionError(
                    "no magma-spark bundle jar in " + target + ": package magma-spark first (tools/mvn verify does)"));
        }
        Path out = dir.resolve("submitted");
        Run run = run(false, "org.apache.spark.deploy.SparkSubmit", "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                "--class", "io.github.magmajava.spark.CaptionImages", bundle.toString(), "--input", images.toString(), "--output",
                out.toString(), "--format", "json", "--checkpoint", TINY.resolve("model.pt").toString(), "--model-config",
                TINY.resolve("config.json").toString(), "--temperature", "3", "--top-p", "1", "--seed", "3", "--max-out-tokens", "3",
                "--prompt", "A photo of");
        assertThat(run.exit()).as(run.err()).isZero();

        List<JsonNode> rows = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            for (Path part : s.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(part, StandardCharsets.UTF_8)) {
                    rows.add(JSON.readTree(line));
                }
            }
        }
        assertThat(rows).hasSize(IMAGES.size() + 1);
        assertThat(rows.stream().filter(r -> r.get("error").isNull()).map(CaptionBatchProcessTest::row).sorted().toList())
                .containsExactlyElementsOf(expectedRows(new SamplingOptions(3, 3f, 0, 1f, 3), "A photo of", true));
        assertThat(rows.stream().filter(r -> !r.get("error").isNull()).map(r -> r.get("error").asText()).toList())
                .singleElement().asString().contains("notes.txt");
    }

    @Test
    void withoutSparkOnTheClassPathOrWithAClusterMasterItSaysWhatToDoInOneLine() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = MagmaCli.run(new String[] {"caption-batch", "--input", images.toString(), "--output", dir.resolve("x.jsonl").toString(),
                "--master", "yarn"}, out, err);
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("magma: --master: the master must be local, local[N] or local[*],"
                + " found 'yarn'; on a cluster, run MagmaCaptioner with spark-submit (docs/spark.md) (see 'magma caption-batch --help')\n");

        err.reset();
        exit = MagmaCli.run(new String[] {"caption-batch", "--input", images.toString(), "--output", dir.resolve("x.jsonl").toString(),
                "--checkpoint", TINY.resolve("model.pt").toString()}, out, err);
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("magma: caption-batch needs Apache Spark's jars beside"
                + " magma-cli.jar: run it as ./magma caption-batch (docs/spark.md)\n");
        assertThat(out.size()).isZero();
    }
}
