package io.github.magmajava.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TensorFiles;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.testing.Fixtures;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code magma convert}: the tiny PyTorch fixtures as safetensors, bit for bit, and the ways it refuses. */
class CheckpointConverterTest {
    @TempDir
    Path dir;

    private static Path model(String fixture) {
        return Fixtures.path("magma/" + fixture + "/model.pt");
    }

    private static MagmaConfig config(String fixture) {
        return MagmaConfig.fromJson(Fixtures.path("magma/" + fixture + "/config.json"));
    }

    private CheckpointConverter.Converted convert(String fixture, WeightFormat weights, Path target) throws IOException {
        return CheckpointConverter.convert(model(fixture), target, weights, Optional.of(config(fixture)), dir.resolve("cache"));
    }

    private static void assertSameBytes(Tensor actual, Tensor expected) {
        assertThat(actual.dtype()).as(expected.name()).isEqualTo(expected.dtype());
        assertThat(actual.shape()).as(expected.name()).containsExactly(expected.shape());
        assertThat(actual.data().mismatch(expected.data())).as(expected.name() + ": first differing byte").isEqualTo(-1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_b", "tiny_c"})
    void everyTensorTheModelReadsIsCopiedBitForBitWithTheConfigInTheMetadata(String fixture) throws IOException {
        Path target = dir.resolve(fixture + ".safetensors");
        CheckpointConverter.Converted c = convert(fixture, WeightFormat.FP16, target);
        Map<String, long[]> expected = MagmaWeights.expectedShapes(config(fixture));
        assertThat(c.tensors()).isEqualTo(expected.size());
        assertThat(c.bytes()).isEqualTo(Files.size(target));
        try (TensorFile source = TensorFiles.open(model(fixture)); SafetensorsFile out = SafetensorsFile.open(target)) {
            assertThat(source.tensors().keySet()).as("the source also holds buffers and aliases")
                    .contains("word_embedding.weight", "lm.transformer.h.0.attn.attention.bias");
            assertThat(out.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
            for (String name : expected.keySet()) {
                assertSameBytes(out.tensor(name), source.tensor(name));
            }
            Map<String, String> meta = out.metadata();
            assertThat(meta).containsEntry("format", "pt").containsEntry(CheckpointConverter.WEIGHTS_KEY, "fp16")
                    .containsEntry(CheckpointConverter.SOURCE_KEY, "model.pt")
                    .containsEntry(CheckpointConverter.SOURCE_BYTES_KEY, Long.toString(Files.size(model(fixture))))
                    .doesNotContainKey(CheckpointConverter.Q8_BLOCK_KEY);
            assertThat(meta.get(CheckpointConverter.CONVERTER_KEY)).startsWith("magma-java convert 1");
            assertThat(MagmaConfig.fromJson(meta.get(MagmaConfig.METADATA_KEY))).isEqualTo(config(fixture));
            assertThat(MagmaWeights.detectConfig(out)).contains(config(fixture));
            assertThat(MagmaWeights.bind(out, config(fixture)).config()).isEqualTo(config(fixture));
        }
        assertThat(siblings()).containsExactly(target.getFileName().toString());
    }

    @Test
    void aConvertedFileConvertsAgainToTheSameTensorsWithoutBeingToldTheConfig() throws IOException {
        Path first = dir.resolve("first.safetensors");
        Path second = dir.resolve("second.safetensors");
        convert("tiny_b", WeightFormat.FP16, first);
        CheckpointConverter.convert(first, second, WeightFormat.FP16, Optional.empty(), dir.resolve("cache"));
        try (SafetensorsFile a = SafetensorsFile.open(first); SafetensorsFile b = SafetensorsFile.open(second)) {
            assertThat(b.tensors().keySet()).containsExactlyElementsOf(a.tensors().keySet());
            a.tensors().values().forEach(t -> assertSameBytes(b.tensors().get(t.name()), t));
            assertThat(b.metadata()).containsEntry(CheckpointConverter.SOURCE_KEY, "first.safetensors")
                    .containsEntry(MagmaConfig.METADATA_KEY, a.metadata().get(MagmaConfig.METADATA_KEY));
        }
    }

    /** The Linear weights of GPT-J as the q8 cache's int8 pairs (byte for byte), everything else as stored. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny_a", "tiny_c"})
    void q8StoresTheLinearWeightsOnlyAsTheCachesInt8Pairs(String fixture) throws IOException {
        Path fp16 = dir.resolve("fp16.safetensors");
        Path q8 = dir.resolve("q8.safetensors");
        convert(fixture, WeightFormat.FP16, fp16);
        CheckpointConverter.Converted c = convert(fixture, WeightFormat.Q8, q8);
        assertThat(Files.size(q8)).isLessThan(Files.size(fp16));
        try (TensorFile source = TensorFiles.open(model(fixture)); SafetensorsFile out = SafetensorsFile.open(q8)) {
            List<Tensor> linear = Q8Cache.linearWeights(MagmaWeights.bind(source, config(fixture)).languageModel());
            Set<String> quantized = linear.stream().map(Tensor::name).collect(Collectors.toSet());
            assertThat(quantized).hasSize(8 * config(fixture).transformer().layers() + 1);
            Set<String> expected = new HashSet<>();
            for (String name : MagmaWeights.expectedShapes(config(fixture)).keySet()) {
                if (quantized.contains(name)) {
                    expected.addAll(List.of(name + ".q8", name + ".scale"));
                } else {
                    expected.add(name);
                    assertSameBytes(out.tensor(name), source.tensor(name));
                }
            }
            assertThat(out.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(c.tensors()).isEqualTo(expected.size());
            try (Q8Weights cache = Q8Cache.open(model(fixture), linear, dir.resolve("cache"))) {
                for (Q8Tensor q : cache.tensors().values()) {
                    assertSameBytes(out.tensor(q.name() + ".q8"), q.values());
                    assertSameBytes(out.tensor(q.name() + ".scale"), q.scales());
                    assertThat(out.tensor(q.name() + ".q8").dtype()).isEqualTo(DType.INT8);
                }
            }
            assertThat(out.metadata()).containsEntry(CheckpointConverter.WEIGHTS_KEY, "q8")
                    .containsEntry(CheckpointConverter.Q8_BLOCK_KEY, "32");
            Q8Weights embedded = Q8Weights.embedded(out).orElseThrow();
            assertThat(embedded.tensors().keySet()).isEqualTo(quantized);
            assertThat(MagmaWeights.bind(out, config(fixture), embedded).languageModel().lmHeadWeight().dtype()).isEqualTo(DType.INT8);
        }
    }

    @Test
    void aQ8FileConvertsToQ8AsItIsAndRefusesFp16() throws IOException {
        Path q8 = dir.resolve("q8.safetensors");
        convert("tiny_b", WeightFormat.Q8, q8);
        Path again = dir.resolve("again.safetensors");
        CheckpointConverter.convert(q8, again, WeightFormat.Q8, Optional.empty(), dir.resolve("elsewhere"));
        assertThat(dir.resolve("elsewhere")).as("no q8 cache is made from int8 weights").doesNotExist();
        try (SafetensorsFile a = SafetensorsFile.open(q8); SafetensorsFile b = SafetensorsFile.open(again)) {
            assertThat(b.tensors().keySet()).containsExactlyInAnyOrderElementsOf(a.tensors().keySet());
            a.tensors().values().forEach(t -> assertSameBytes(b.tensors().get(t.name()), t));
        }
        Path fp16 = dir.resolve("fp16.safetensors");
        assertThatThrownBy(() -> CheckpointConverter.convert(q8, fp16, WeightFormat.FP16, Optional.empty(), dir.resolve("cache")))
                .isInstanceOf(CheckpointException.class)
                .hasMessage(q8 + ": holds int8 weights (it was converted with --weights q8), not their fp16 originals;"
                        + " convert the original checkpoint to get fp16");
        assertThat(fp16).doesNotExist();
    }

    @Test
    void theSourceIsNeverOverwritten() throws IOException {
        Path copy = Files.copy(model("tiny_a"), dir.resolve("model.pt"));
        byte[] before = Files.readAllBytes(copy);
        for (Path target : List.of(copy, dir.resolve(".").resolve("model.pt"), Files.createLink(dir.resolve("link.pt"), copy))) {
            assertThatThrownBy(() -> CheckpointConverter.convert(copy, target, WeightFormat.FP16, Optional.of(config("tiny_a")),
                    dir.resolve("cache"))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cannot write " + target + ": it is the source checkpoint; write the converted file elsewhere");
        }
        assertThat(Files.readAllBytes(copy)).isEqualTo(before);
        assertThat(siblings()).containsExactlyInAnyOrder("model.pt", "link.pt");
    }

    @Test
    void aFileThatIsNoCheckpointIsRefusedAndNothingIsWritten() throws IOException {
        Path notes = Files.writeString(dir.resolve("notes.txt"), "not a checkpoint");
        Path target = dir.resolve("out.safetensors");
        assertThatThrownBy(() -> CheckpointConverter.convert(notes, target, WeightFormat.FP16, Optional.empty(), dir.resolve("cache")))
                .isInstanceOf(CheckpointException.class)
                .hasMessage(notes + ": neither a torch.save checkpoint (a zip) nor a safetensors file");
        assertThatThrownBy(() -> CheckpointConverter.convert(model("tiny_a"), target, WeightFormat.FP16, Optional.empty(),
                dir.resolve("cache"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("its shapes match no preset").hasMessageContaining("give the model config explicitly");
        assertThatThrownBy(() -> CheckpointConverter.convert(model("tiny_a"), target, WeightFormat.FP16,
                Optional.of(config("tiny_b")), dir.resolve("cache"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("does not match model config 'tiny_b'");
        assertThat(siblings()).containsExactly("notes.txt");
    }

    @Test
    void anUnwritableTargetIsRefusedWithTheReasonAndLeavesNothing() throws IOException {
        Path notes = Files.writeString(dir.resolve("notes.txt"), "x");
        assertThatThrownBy(() -> convert("tiny_a", WeightFormat.FP16, notes.resolve("out.safetensors")))
                .isInstanceOf(IOException.class).hasMessage("cannot write " + notes.resolve("out.safetensors") + ": " + notes
                        + " is not a directory");
        assertThatThrownBy(() -> convert("tiny_a", WeightFormat.FP16, dir))
                .isInstanceOf(IOException.class).hasMessage("cannot write " + dir + ": it is a directory");
        Path proc = Path.of("/proc/magma-convert.safetensors");
        if (Files.isDirectory(Path.of("/proc/self"))) {
            // No one, root included, creates files in /proc.
            assertThatThrownBy(() -> convert("tiny_a", WeightFormat.FP16, proc)).isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot write " + proc + ": ").hasMessageNotContaining("\n");
            assertThat(proc).doesNotExist();
        }
        assertThat(siblings()).containsExactly("notes.txt");
    }

    @Test
    void tooLittleSpaceIsRefusedBeforeAnythingIsWritten() throws IOException {
        Path target = dir.resolve("out.safetensors");
        Files.writeString(target, "an older file");
        assertThatThrownBy(() -> CheckpointConverter.convert(model("tiny_a"), target, WeightFormat.FP16,
                Optional.of(config("tiny_a")), dir.resolve("cache"), d -> 1000))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("cannot write " + target + ": it needs about ")
                .hasMessageEndingWith(" bytes, " + dir + " has 1000 free");
        assertThat(Files.readString(target)).isEqualTo("an older file");
        assertThat(siblings()).containsExactly("out.safetensors");
    }

    @Test
    void theConfigIsCompactJsonInTheMetadata() throws IOException {
        Path target = dir.resolve("out.safetensors");
        convert("tiny_a", WeightFormat.FP16, target);
        try (SafetensorsFile out = SafetensorsFile.open(target)) {
            String json = out.metadata().get(MagmaConfig.METADATA_KEY);
            assertThat(json).doesNotContain("\n").startsWith("{\"name\":\"tiny_a\"");
            assertThat(new ObjectMapper().readTree(json).get("transformer").get("hiddenSize").asInt()).isEqualTo(32);
        }
    }

    /** The names in the test's directory, hidden temporary files included. */
    private Set<String> siblings() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("cache")).collect(Collectors.toSet());
        }
    }
}
