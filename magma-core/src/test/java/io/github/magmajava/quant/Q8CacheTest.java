package io.github.magmajava.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Safetensors;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.io.TorchCheckpoint;
import io.github.magmajava.testing.Fixtures;
import io.github.magmajava.weights.MagmaWeights;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache: made once, reused untouched, rebuilt when the source or the cache changes, never half-written. */
class Q8CacheTest {
    @TempDir
    Path dir;

    private Path cacheDir() {
        return dir.resolve("cache");
    }

    private Path source(String name, long seed) throws IOException {
        return source(dir, name, seed);
    }

    /** A safetensors "checkpoint" with two matrices and a bias, values from {@code seed}. */
    static Path source(Path dir, String name, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        Path file = dir.resolve(name);
        Safetensors.write(file, List.of(
                Q8QuantizerTest.tensor("h.0.q_proj.weight", DType.FLOAT16, 48, 64, Q8QuantizerTest.gaussian(rnd, 48 * 64, 0.02)),
                Q8QuantizerTest.tensor("h.0.c_fc.weight", DType.FLOAT16, 7, 40, Q8QuantizerTest.gaussian(rnd, 7 * 40, 0.02)),
                Q8QuantizerTest.tensor("h.0.c_fc.bias", DType.FLOAT16, 1, 7, Q8QuantizerTest.gaussian(rnd, 7, 0.02))), Map.of());
        return file;
    }

    static List<Tensor> matrices(TensorFile f) {
        return List.of(f.tensors().get("h.0.q_proj.weight"), f.tensors().get("h.0.c_fc.weight"));
    }

    private Q8Weights open(Path source) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(source)) {
            return Q8Cache.open(source, matrices(f), cacheDir());
        }
    }

    @Test
    void theCacheIsMadeOnceThenReusedUntouched() throws IOException {
        Path source = source("model.safetensors", 1);
        Path cache = Q8Cache.file(source, cacheDir());
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isFalse();
        try (Q8Weights q = open(source); SafetensorsFile f = SafetensorsFile.open(source)) {
            assertThat(q.path()).contains(cache);
            assertThat(q.tensors().keySet()).containsExactly("h.0.q_proj.weight", "h.0.c_fc.weight");
            for (Tensor w : matrices(f)) {
                Q8Tensor cached = q.find(w).orElseThrow();
                Q8Tensor onHeap = Q8Quantizer.quantize(w);
                assertThat(cached.values().data().toArray(ValueLayout.JAVA_BYTE))
                        .containsExactly(onHeap.values().data().toArray(ValueLayout.JAVA_BYTE));
                assertThat(cached.scales().data().toArray(ValueLayout.JAVA_BYTE))
                        .containsExactly(onHeap.scales().data().toArray(ValueLayout.JAVA_BYTE));
            }
            assertThat(q.find(f.tensors().get("h.0.c_fc.bias"))).isEmpty();
        }
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isTrue();
        try (SafetensorsFile c = SafetensorsFile.open(cache)) {
            assertThat(c.metadata()).containsEntry("format", "magma-java q8").containsEntry("version", Q8Cache.VERSION)
                    .containsEntry("block", "32").containsEntry("source.bytes", Long.toString(Files.size(source)));
            assertThat(c.tensors().get("h.0.c_fc.weight.q8").describe()).isEqualTo("int8[7, 40]");
            assertThat(c.tensors().get("h.0.c_fc.weight.scale").describe()).isEqualTo("float16[7, 2]");
        }

        FileTime made = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
        Files.setLastModifiedTime(cache, made);
        byte[] bytes = Files.readAllBytes(cache);
        try (Q8Weights again = open(source)) {
            assertThat(again.tensors()).hasSize(2);
        }
        assertThat(Files.getLastModifiedTime(cache)).isEqualTo(made);
        assertThat(Files.readAllBytes(cache)).isEqualTo(bytes);
        assertThat(siblings()).containsExactly(cache.getFileName().toString());
    }

    @Test
    void aChangedSourceInvalidatesTheCache() throws IOException {
        Path source = source("model.safetensors", 1);
        open(source).close();
        Path cache = Q8Cache.file(source, cacheDir());
        byte[] before = Files.readAllBytes(cache);

        // Same path, same size, new values.
        Path other = source("other.safetensors", 2);
        Files.move(other, source, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isFalse();
        try (Q8Weights q = open(source); SafetensorsFile f = SafetensorsFile.open(source)) {
            Tensor w = f.tensors().get("h.0.q_proj.weight");
            assertThat(q.find(w).orElseThrow().values().data().toArray(ValueLayout.JAVA_BYTE))
                    .containsExactly(Q8Quantizer.quantize(w).values().data().toArray(ValueLayout.JAVA_BYTE));
        }
        assertThat(Files.readAllBytes(cache)).isNotEqualTo(before);

        // Only the modification time changes: still a different source as far as the key knows.
        byte[] current = Files.readAllBytes(cache);
        Files.setLastModifiedTime(source, FileTime.from(Instant.parse("2021-06-01T00:00:00Z")));
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isFalse();
        open(source).close();
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isTrue();
        assertThat(Files.readAllBytes(cache)).isNotEqualTo(current);
        assertThat(siblings()).containsExactly(cache.getFileName().toString());
    }

    @Test
    void differentSourcesGetDifferentCacheFiles() throws IOException {
        Path a = source("model.safetensors", 1);
        Files.createDirectories(dir.resolve("elsewhere"));
        Path b = Files.copy(a, dir.resolve("elsewhere").resolve("model.safetensors"));
        assertThat(Q8Cache.file(a, cacheDir())).isNotEqualTo(Q8Cache.file(b, cacheDir()));
        assertThat(Q8Cache.file(a, cacheDir()).getParent()).isEqualTo(cacheDir());
        assertThat(Q8Cache.file(a, cacheDir()).getFileName().toString()).startsWith("q8-model.safetensors-").endsWith(".safetensors");
    }

    @Test
    void aFailedWriteLeavesNoFileBehind() throws IOException {
        Path source = source("model.safetensors", 1);
        try (SafetensorsFile f = SafetensorsFile.open(source)) {
            float[] poisoned = new float[64 * 64];
            poisoned[64 * 63 + 5] = Float.NaN;
            Tensor bad = Q8QuantizerTest.tensor("h.1.q_proj.weight", DType.FLOAT32, 64, 64, poisoned);
            List<Tensor> weights = Stream.concat(matrices(f).stream(), Stream.of(bad)).toList();
            assertThatThrownBy(() -> Q8Cache.open(source, weights, cacheDir()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("h.1.q_proj.weight").hasMessageContaining("row 63");
        }
        assertThat(siblings()).isEmpty();

        // A previous good cache survives a failed rebuild untouched.
        open(source).close();
        Path cache = Q8Cache.file(source, cacheDir());
        byte[] good = Files.readAllBytes(cache);
        try (SafetensorsFile f = SafetensorsFile.open(source)) {
            Tensor bad = Q8QuantizerTest.tensor("h.1.q_proj.weight", DType.FLOAT32, 1, 32, new float[] {Float.POSITIVE_INFINITY});
            List<Tensor> weights = Stream.concat(matrices(f).stream(), Stream.of(bad)).toList();
            assertThatThrownBy(() -> Q8Cache.open(source, weights, cacheDir())).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(Files.readAllBytes(cache)).isEqualTo(good);
        assertThat(siblings()).containsExactly(cache.getFileName().toString());
    }

    @Test
    void aCorruptOrForeignCacheIsRebuilt() throws IOException {
        Path source = source("model.safetensors", 1);
        open(source).close();
        Path cache = Q8Cache.file(source, cacheDir());
        byte[] good = Files.readAllBytes(cache);

        try (RandomAccessFile f = new RandomAccessFile(cache.toFile(), "rw")) {
            f.setLength(good.length - 100); // truncated: the offsets no longer tile the file
        }
        assertThat(Q8Cache.isCurrent(source, cacheDir())).isFalse();
        open(source).close();
        assertThat(Files.readAllBytes(cache)).isEqualTo(good);

        byte[] garbled = good.clone();
        garbled[12] = '#'; // inside the JSON header
        Files.write(cache, garbled);
        open(source).close();
        assertThat(Files.readAllBytes(cache)).isEqualTo(good);

        // A well-formed file with the right key but a tensor that is not a q8 pair.
        try (SafetensorsFile f = SafetensorsFile.open(cache)) {
            Map<String, String> key = f.metadata();
            Path foreign = dir.resolve("foreign.safetensors");
            Safetensors.write(foreign, List.of(Q8QuantizerTest.tensor("stray", DType.FLOAT32, 1, 1, new float[] {1})), key);
            Files.move(foreign, cache, StandardCopyOption.REPLACE_EXISTING);
        }
        try (Q8Weights q = open(source)) {
            assertThat(q.tensors()).hasSize(2);
        }
        assertThat(Files.readAllBytes(cache)).isEqualTo(good);
    }

    @Test
    void aCacheMissingARequestedWeightIsRebuiltWithIt() throws IOException {
        Path source = source("model.safetensors", 1);
        try (SafetensorsFile f = SafetensorsFile.open(source)) {
            Q8Cache.open(source, List.of(f.tensors().get("h.0.c_fc.weight")), cacheDir()).close();
            try (Q8Weights q = Q8Cache.open(source, matrices(f), cacheDir())) {
                assertThat(q.tensors().keySet()).containsExactly("h.0.q_proj.weight", "h.0.c_fc.weight");
            }
        }
    }

    @Test
    void anUnpairedTensorIsReportedWithTheFileAndItsName() throws IOException {
        Path file = dir.resolve("half.safetensors");
        Safetensors.write(file, List.of(new Tensor("w.q8", DType.INT8, new long[] {1, 4},
                MemorySegment.ofArray(new byte[4]))), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThatThrownBy(() -> Q8Weights.of(f)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("half.safetensors").hasMessageContaining("w.q8 has no w.scale");
        }
    }

    /** The real tensor names: every GPT-J Linear weight of the tiny fixture, nothing else. */
    @Test
    void theLinearWeightsOfAModelAreTheAttentionMlpAdapterAndHeadMatrices() throws IOException {
        Path dirA = Fixtures.path("magma/tiny_a");
        try (TorchCheckpoint f = TorchCheckpoint.open(dirA.resolve("model.pt"))) {
            MagmaWeights w = MagmaWeights.bind(f, MagmaConfig.fromJson(dirA.resolve("config.json")));
            List<String> names = Q8Cache.linearWeights(w.languageModel()).stream().map(Tensor::name).toList();
            assertThat(names).hasSize(2 * 8 + 1).contains("lm.transformer.h.1.attn.attention.out_proj.weight",
                    "lm.transformer.h.0.mlp.0.c_fc.weight", "lm.transformer.h.0.mlp.1.adapter.2.weight", "lm.lm_head.weight")
                    .noneMatch(n -> n.contains("wte") || n.contains("image_prefix") || n.endsWith(".bias") || n.contains("ln_"));
        }
    }

    /** Names in the cache directory (temporary files included), but for the lock files, which stay by design. */
    private List<String> siblings() throws IOException {
        if (!Files.isDirectory(cacheDir())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(cacheDir())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock")).toList();
        }
    }
}
