package io.github.magmajava.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The local batch job: its output read back with Spark, row for row what Magma.generate answers. */
class CaptionBatchTest {
    private static final Path FIXTURES = Path.of(System.getProperty("magma.fixtures"));
    private static final Path TINY = FIXTURES.resolve("magma/tiny_a");
    private static final List<String> IMAGES = List.of("jpeg_444_50x70.jpg", "l_70x53.png", "gif_offset_40x30.gif");
    private static final SamplingOptions SAMPLING = new SamplingOptions(4, 3f, 0, 1f, 9);

    @TempDir
    Path dir;

    private Path images() throws IOException {
        Path in = Files.createDirectories(dir.resolve("in/nested"));
        for (String name : IMAGES) {
            Files.copy(FIXTURES.resolve("image/src").resolve(name), in.resolve(name));
        }
        Files.writeString(dir.resolve("in/readme.md"), "# not an image\n");
        return dir.resolve("in");
    }

    private static CaptionBatch.Job job(List<String> inputs, Path output, CaptionBatch.Format format, String checkpoint) {
        return new CaptionBatch.Job(inputs, output, format, false, "local[2]", "A painting of",
                new CaptionBatch.Model(checkpoint, TINY.resolve("config.json").toString(), WeightFormat.FP16, Precision.EXACT, 1),
                SAMPLING);
    }

    @ParameterizedTest
    @EnumSource(CaptionBatch.Format.class)
    void writesOneRowPerFileInPathOrderEqualToMagmaGenerate(CaptionBatch.Format format) throws IOException {
        Path in = images();
        Path out = dir.resolve(format == CaptionBatch.Format.JSONL ? "out.jsonl" : "out.parquet");
        CaptionBatch.Job job = job(List.of(in.toString()), out, format, TINY.resolve("model.pt").toString());

        CaptionBatch.Result result = CaptionBatch.run(job, new CaptionBatch.Listener() {
        });

        assertThat(result.files()).isEqualTo(IMAGES.size() + 1);
        assertThat(result.answered()).isEqualTo(IMAGES.size());
        assertThat(result.errors()).isEqualTo(1);
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("in", out.getFileName().toString());
        }
        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
        try (Magma magma = Magma.builder(TINY.resolve("model.pt")).config(MagmaConfig.fromJson(TINY.resolve("config.json")))
                .threads(2).load()) {
            List<Row> rows = CaptionBatch.read(spark, job).select(CaptionBatch.COLUMNS.stream().map(org.apache.spark.sql.functions::col)
                    .toArray(org.apache.spark.sql.Column[]::new)).collectAsList();
            assertThat(rows).hasSize(IMAGES.size() + 1);
            if (format == CaptionBatch.Format.JSONL) {
                assertThat(rows).extracting(r -> r.getString(0)).isSorted(); // Parquet's part files are read in any order
            }
            for (Row row : rows) {
                String path = row.getString(0);
                assertThat(row.getString(1)).isEqualTo("A painting of");
                if (path.endsWith("readme.md")) {
                    assertThat(row.isNullAt(2)).isTrue();
                    assertThat(row.getString(4)).contains("readme.md").contains("not a PNG, JPEG, GIF or BMP");
                    continue;
                }
                var g = magma.generate(new GenerationRequest(ImageInput.file(Path.of(path)), "A painting of",
                        SAMPLING.withSeed(RowSeed.of(SAMPLING.seed(), path)), false), TokenListener.NONE);
                assertThat(row.getString(2)).as(path).isEqualTo(g.text());
                // int in Parquet, long as Spark reads JSON numbers back
                assertThat(row.<Number>getList(3).stream().map(Number::intValue).toList()).as(path)
                        .containsExactlyElementsOf(java.util.Arrays.stream(g.tokens()).boxed().toList());
                assertThat(row.isNullAt(4)).isTrue();
                assertThat(((Number) row.get(5)).longValue()).isNotNegative();
            }
        } finally {
            spark.stop();
        }
    }

    @Test
    void refusesAnExistingOutputAndAnUnknownMasterBeforeStartingSpark() throws IOException {
        Path out = Files.writeString(dir.resolve("out.jsonl"), "kept\n");
        CaptionBatch.Job job = job(List.of(dir.toString()), out, CaptionBatch.Format.JSONL, TINY.resolve("model.pt").toString());
        assertThatThrownBy(() -> CaptionBatch.run(job, new CaptionBatch.Listener() {
        })).hasMessageContaining("output " + out + " exists");
        assertThat(Files.readString(out)).isEqualTo("kept\n");
        assertThatThrownBy(() -> CaptionBatch.localCores("yarn")).hasMessageContaining("local, local[N] or local[*]");
        assertThat(CaptionBatch.localCores("local[3]")).isEqualTo(3);
        assertThat(CaptionBatch.localCores("local")).isEqualTo(1);
    }

    @Test
    void aMissingCheckpointFailsWithTheTasksOwnOneLineMessageAndWritesNothing() throws IOException {
        Path in = images();
        Path out = dir.resolve("out.jsonl");
        Path missing = dir.resolve("gone.pt");
        CaptionBatch.Job job = job(List.of(in.toString()), out, CaptionBatch.Format.JSONL, missing.toString());
        assertThatThrownBy(() -> CaptionBatch.run(job, new CaptionBatch.Listener() {
        })).isInstanceOf(IOException.class).hasMessageStartingWith("the MAGMA checkpoint " + missing + " is not a file on executor")
                .hasMessageNotContaining("\n");
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("in");
        }
    }
}
