package io.github.magmajava.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.CheckpointException;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Safetensors;
import io.github.magmajava.io.SafetensorsFile;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.io.TensorFile;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MagmaWeightsTest {
    private static final MagmaConfig TINY = MagmaConfig.fromJson("""
            {"name": "tiny", "visual": {"layers": [2,1,1,1], "width": 8, "imageResolution": 64},
             "transformer": {"layers": 2, "hiddenSize": 16, "heads": 2, "rotaryDim": 4, "rotaryBase": 10000,
                             "vocabSize": 60, "realVocabSize": 50, "maxPositions": 32, "sequenceLength": 20},
             "adapter": {"downsampleFactor": 4, "layerNorm": false}}""");

    private static Map<String, Tensor> complete(MagmaConfig config) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        MagmaWeights.expectedShapes(config).forEach((name, shape) -> tensors.put(name, zeros(name, DType.FLOAT16, shape)));
        return tensors;
    }

    private static Tensor zeros(String name, DType dtype, long... shape) {
        return new Tensor(name, dtype, shape, MemorySegment.ofArray(new byte[(int) Tensor.numel(shape) * dtype.byteSize()]));
    }

    private static TensorFile file(Map<String, Tensor> tensors) {
        return new TensorFile() {
            @Override
            public Path path() {
                return Path.of("model.pt");
            }

            @Override
            public Map<String, Tensor> tensors() {
                return tensors;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void bindsEveryTensorToItsPlace() throws CheckpointException {
        Map<String, Tensor> tensors = complete(TINY);
        MagmaWeights w = MagmaWeights.bind(file(tensors), TINY);
        assertThat(w.languageModel().blocks()).hasSize(2);
        assertThat(w.languageModel().blocks().get(1).adapterUpWeight().name()).isEqualTo("lm.transformer.h.1.mlp.1.adapter.2.weight");
        assertThat(w.imagePrefix().encoder().stages()).extracting(java.util.List::size).containsExactly(2, 1, 1, 1);
        BottleneckWeights first = w.imagePrefix().encoder().stages().get(0).get(0);
        assertThat(first.downsample()).isPresent();
        assertThat(first.stride()).isEqualTo(1);
        assertThat(w.imagePrefix().encoder().stages().get(0).get(1).downsample()).isEmpty();
        assertThat(w.imagePrefix().encoder().stages().get(2).get(0).stride()).isEqualTo(2);
        assertThat(w.imagePrefix().projWeight().shape()).containsExactly(16, 256);
    }

    @Test
    void buffersAndAliasesAreAcceptedAndIgnored() throws CheckpointException {
        Map<String, Tensor> tensors = complete(TINY);
        tensors.put("word_embedding.weight", tensors.get("lm.transformer.wte.weight").withName("word_embedding.weight"));
        tensors.put("transformer.0.ln_1.weight", tensors.get("lm.transformer.h.0.ln_1.weight"));
        tensors.put("lm.transformer.h.0.attn.attention.bias", zeros("b", DType.BOOL, 1, 1, 32, 32));
        tensors.put("lm.transformer.h.1.attn.attention.masked_bias", zeros("m", DType.FLOAT32));
        tensors.put("image_prefix.enc.bn1.num_batches_tracked", zeros("n", DType.INT64));
        assertThat(MagmaWeights.bind(file(tensors), TINY).config()).isEqualTo(TINY);
    }

    @Test
    void everyProblemIsReportedInOneError() {
        Map<String, Tensor> tensors = complete(TINY);
        tensors.remove("lm.transformer.h.1.attn.attention.q_proj.weight");
        tensors.remove("image_prefix.enc.layer2.0.downsample.1.running_var");
        tensors.put("lm.lm_head.bias", zeros("lm.lm_head.bias", DType.FLOAT16, 59));
        tensors.put("lm.transformer.ln_f.weight", zeros("lm.transformer.ln_f.weight", DType.INT64, 16));
        tensors.put("lm.transformer.h.0.attn.adapter.0.weight", zeros("x", DType.FLOAT16, 4, 16));
        assertThatThrownBy(() -> MagmaWeights.bind(file(tensors), TINY))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("model.pt: does not match model config 'tiny' (5 problems)")
                .hasMessageContaining("missing tensor lm.transformer.h.1.attn.attention.q_proj.weight [16, 16]")
                .hasMessageContaining("missing tensor image_prefix.enc.layer2.0.downsample.1.running_var [64]")
                .hasMessageContaining("tensor lm.lm_head.bias has shape [59], expected [60]")
                .hasMessageContaining("tensor lm.transformer.ln_f.weight has dtype int64")
                .hasMessageContaining("unexpected tensor lm.transformer.h.0.attn.adapter.0.weight float16[4, 16]");
    }

    @Test
    void presetsAreDetectedFromShapesOnly() {
        Map<String, Tensor> tiny = complete(TINY);
        assertThat(MagmaWeights.detectPreset(tiny)).isEmpty();
        Map<String, long[]> full = MagmaWeights.expectedShapes(MagmaConfig.MAGMA_V1_500);
        assertThat(full).containsKey("lm.transformer.h.27.mlp.1.adapter.2.bias");
        assertThat(full.get("lm.lm_head.weight")).containsExactly(50400, 4096);
        assertThat(full.get("image_prefix.enc.layer4.0.downsample.0.weight")).containsExactly(3072, 1536, 1, 1);
        long params = full.values().stream().mapToLong(Tensor::numel).sum();
        // SPEC: the fp16 checkpoint is about 13.0 GB, i.e. about 6.4-6.5 billion parameters.
        assertThat(params).isBetween(6_400_000_000L, 6_500_000_000L);
    }

    /** The tensors of a {@code magma convert --weights q8} file: every Linear weight of GPT-J as its int8 pair only. */
    private static Map<String, Tensor> int8Only(MagmaConfig config) throws CheckpointException {
        Map<String, Tensor> tensors = complete(config);
        MagmaWeights fp16 = MagmaWeights.bind(file(complete(config)), config);
        for (Tensor w : Q8Cache.linearWeights(fp16.languageModel())) {
            Q8Tensor q = Q8Quantizer.quantize(w);
            tensors.remove(w.name());
            tensors.put(q.values().name(), q.values());
            tensors.put(q.scales().name(), q.scales());
        }
        return tensors;
    }

    @Test
    void linearWeightsHeldOnlyInInt8BindToTheirInt8ValuesUnderTheirOwnNames() throws CheckpointException {
        TensorFile file = file(int8Only(TINY));
        assertThatThrownBy(() -> MagmaWeights.bind(file, TINY)).hasMessageContaining("missing tensor lm.lm_head.weight [60, 16]")
                .hasMessageContaining("unexpected tensor lm.lm_head.weight.q8 int8[60, 16]");
        Q8Weights embedded = Q8Weights.embedded(file).orElseThrow();
        assertThat(embedded.tensors()).hasSize(2 * 8 + 1);
        MagmaWeights w = MagmaWeights.bind(file, TINY, embedded);
        Tensor q = w.languageModel().blocks().get(1).qProj();
        assertThat(q.name()).isEqualTo("lm.transformer.h.1.attn.attention.q_proj.weight");
        assertThat(q.dtype()).isEqualTo(DType.INT8);
        assertThat(q.shape()).containsExactly(16, 16);
        assertThat(embedded.find(q)).hasValueSatisfying(t -> assertThat(t.name()).isEqualTo(q.name()));
        assertThat(w.languageModel().lmHeadWeight().dtype()).isEqualTo(DType.INT8);
        assertThat(w.languageModel().wte().dtype()).isEqualTo(DType.FLOAT16);
        assertThat(w.imagePrefix().projWeight().dtype()).isEqualTo(DType.FLOAT16);
    }

    @Test
    void onlyTheLinearWeightsTheBackendReadsByNameMayBeInt8() throws CheckpointException {
        Map<String, Tensor> tensors = int8Only(TINY);
        for (String name : List.of("lm.transformer.wte.weight", "image_prefix.proj.weight")) {
            Q8Tensor q = Q8Quantizer.quantize(tensors.remove(name));
            tensors.put(q.values().name(), q.values());
            tensors.put(q.scales().name(), q.scales());
        }
        TensorFile file = file(tensors);
        assertThatThrownBy(() -> MagmaWeights.bind(file, TINY, Q8Weights.embedded(file).orElseThrow()))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("(6 problems)")
                .hasMessageContaining("missing tensor lm.transformer.wte.weight [50, 16]")
                .hasMessageContaining("unexpected tensor lm.transformer.wte.weight.q8 int8[50, 16]")
                .hasMessageContaining("unexpected tensor image_prefix.proj.weight.scale float16[16, 8]");
    }

    @Test
    void aMisShapedInt8WeightIsReported() throws CheckpointException {
        Map<String, Tensor> tensors = int8Only(TINY);
        Q8Tensor wide = Q8Quantizer.quantize(zeros("lm.transformer.h.0.mlp.0.c_fc.weight", DType.FLOAT16, 64, 20));
        tensors.put(wide.values().name(), wide.values());
        tensors.put(wide.scales().name(), wide.scales());
        TensorFile file = file(tensors);
        assertThatThrownBy(() -> MagmaWeights.bind(file, TINY, Q8Weights.embedded(file).orElseThrow()))
                .hasMessageContaining("(1 problem)")
                .hasMessageContaining("int8 tensor lm.transformer.h.0.mlp.0.c_fc.weight.q8 has shape [64, 20], expected [64, 16]");
    }

    @Test
    void aFileWithoutInt8TensorsEmbedsNone() throws CheckpointException {
        assertThat(Q8Weights.embedded(file(complete(TINY)))).isEmpty();
        Map<String, Tensor> tensors = complete(TINY);
        tensors.put("lm.lm_head.weight.q8", zeros("lm.lm_head.weight.q8", DType.INT8, 60, 16));
        assertThatThrownBy(() -> Q8Weights.embedded(file(tensors))).isInstanceOf(CheckpointException.class)
                .hasMessage("model.pt: q8 tensor lm.lm_head.weight.q8 has no lm.lm_head.weight.scale");
    }

    @Test
    void theConfigInASafetensorsFilesMetadataIsUsedBeforeThePresets(@TempDir Path dir) throws IOException {
        Path withConfig = dir.resolve("with.safetensors");
        Safetensors.write(withConfig, complete(TINY).values(), Map.of(MagmaConfig.METADATA_KEY, TINY.toJson()));
        try (SafetensorsFile f = SafetensorsFile.open(withConfig)) {
            assertThat(MagmaWeights.detectConfig(f)).contains(TINY);
        }
        Path without = dir.resolve("without.safetensors");
        Safetensors.write(without, complete(TINY).values(), Map.of("format", "pt"));
        try (SafetensorsFile f = SafetensorsFile.open(without)) {
            assertThat(MagmaWeights.detectConfig(f)).isEmpty();
        }
        Path broken = dir.resolve("broken.safetensors");
        Safetensors.write(broken, complete(TINY).values(), Map.of(MagmaConfig.METADATA_KEY, "{\"name\": \"x\"}"));
        try (SafetensorsFile f = SafetensorsFile.open(broken)) {
            assertThatThrownBy(() -> MagmaWeights.detectConfig(f)).isInstanceOf(CheckpointException.class)
                    .hasMessageStartingWith(broken + ": the model config in its metadata (magma.config) is not valid: ");
        }
    }
}
