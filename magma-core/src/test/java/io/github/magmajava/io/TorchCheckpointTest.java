package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.magmajava.io.CheckpointFixtures.ExpectedTensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TorchCheckpointTest {
    private static final String[] MAGMA_LIKE = {"deepspeed.pt", "deepspeed_protocol1.pt", "deepspeed_protocol3.pt",
            "deepspeed_protocol4.pt", "deepspeed_protocol5.pt", "mp_rank_00_model_states.pt", "zip64_full.pt"};

    @ParameterizedTest
    @ValueSource(strings = {"plain.pt", "archive_prefix.pt", "zip64.pt", "deepspeed.pt", "deepspeed_protocol1.pt",
            "deepspeed_protocol3.pt", "deepspeed_protocol4.pt", "deepspeed_protocol5.pt", "mp_rank_00_model_states.pt",
            "zip64_full.pt"})
    void listsExactlyWhatTorchSaved(String fixture) throws IOException {
        List<ExpectedTensor> expected = CheckpointFixtures.expected(fixture);
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path(fixture))) {
            assertThat(checkpoint.tensors().keySet()).containsExactlyElementsOf(
                    expected.stream().map(ExpectedTensor::name).toList());
            for (ExpectedTensor e : expected) {
                Tensor t = checkpoint.tensor(e.name());
                assertThat(t.dtype().torchName()).as(e.name()).isEqualTo(e.dtype());
                assertThat(t.shape()).as(e.name()).containsExactly(e.shape().stream().mapToLong(Long::longValue).toArray());
                assertThat(HexFormat.of().formatHex(t.data().toArray(ValueLayout.JAVA_BYTE))).as(e.name()).isEqualTo(e.hex());
                if (e.first() != null) {
                    for (int i = 0; i < e.first().size(); i++) {
                        assertThat(t.getFloat(i)).as(e.name() + "[" + i + "]").isEqualTo(e.first().get(i).floatValue());
                    }
                }
            }
        }
    }

    @Test
    void everySupportedDtypeIncludingScalarsMasksAndEmptyTensors() throws IOException {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("plain.pt"))) {
            Tensor steps = checkpoint.tensor("1.num_batches_tracked");
            assertThat(steps.dtype()).isEqualTo(DType.INT64);
            assertThat(steps.rank()).isZero();
            assertThat(steps.getFloat(0)).isEqualTo(5f);
            Tensor mask = checkpoint.tensor("mask");
            assertThat(mask.dtype()).isEqualTo(DType.BOOL);
            assertThat(mask.shape()).containsExactly(1, 1, 4, 4);
            assertThat(mask.toFloatArray()).containsExactly(1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1);
            float[] special = checkpoint.tensor("special").toFloatArray();
            assertThat(special[0]).isNaN();
            assertThat(special[1]).isEqualTo(Float.POSITIVE_INFINITY);
            assertThat(special[2]).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(Float.floatToRawIntBits(special[3])).isEqualTo(Float.floatToRawIntBits(-0f));
            assertThat(special[4]).isEqualTo(Float.float16ToFloat((short) 1)); // smallest fp16 subnormal
            assertThat(special[5]).isEqualTo(65504f);
            assertThat(checkpoint.tensor("extra.bf16").dtype()).isEqualTo(DType.BFLOAT16);
            assertThat(checkpoint.tensor("extra.f32").dtype()).isEqualTo(DType.FLOAT32);
            assertThat(checkpoint.tensor("extra.i64").data().getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, 3))
                    .isEqualTo(1L << 62);
            Tensor empty = checkpoint.tensor("extra.empty");
            assertThat(empty.shape()).containsExactly(0, 3);
            assertThat(empty.numel()).isZero();
        }
    }

    @Test
    void aliasesShareTheMappedBytesAndViewsHonourStorageOffsets() throws IOException {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("deepspeed.pt"))) {
            MemorySegment wte = checkpoint.tensor("lm.transformer.wte.weight").data();
            assertThat(wte.isNative()).isTrue();
            assertThat(checkpoint.tensor("word_embedding.weight").data().address()).isEqualTo(wte.address());
            assertThat(checkpoint.tensor("transformer.0.ln_1.weight").data().address())
                    .isEqualTo(checkpoint.tensor("lm.transformer.h.0.ln_1.weight").data().address());

            long whole = checkpoint.tensor("view.whole").data().address();
            assertThat(checkpoint.tensor("view.rows").data().address()).isEqualTo(whole + 3 * 2);
            assertThat(checkpoint.tensor("view.rows").toFloatArray()).containsExactly(3, 4, 5, 6, 7, 8);
            assertThat(checkpoint.tensor("view.row2").toFloatArray()).containsExactly(6, 7, 8);
            Tensor elem = checkpoint.tensor("view.elem");
            assertThat(elem.rank()).isZero();
            assertThat(elem.getFloat(0)).isEqualTo(10f);
            Tensor unitT = checkpoint.tensor("view.unit_t");
            assertThat(unitT.shape()).containsExactly(3, 1);
            assertThat(unitT.toFloatArray()).containsExactly(3, 4, 5);
            assertThat(checkpoint.tensors()).doesNotContainKey("lm.some_int");
        }
    }

    @Test
    void tensorsAreReadOnly() throws IOException {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("plain.pt"))) {
            MemorySegment data = checkpoint.tensor("0.weight").data();
            assertThat(data.isReadOnly()).isTrue();
            assertThatThrownBy(() -> data.set(ValueLayout.JAVA_BYTE, 0, (byte) 1))
                    .hasMessageContaining("read-only");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed.pt", "deepspeed_protocol1.pt", "deepspeed_protocol3.pt", "deepspeed_protocol4.pt",
            "deepspeed_protocol5.pt", "mp_rank_00_model_states.pt", "zip64_full.pt"})
    void theRestOfADeepSpeedCheckpointIsInertData(String fixture) throws IOException {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path(fixture))) {
            Map<?, ?> root = (Map<?, ?>) checkpoint.root();
            assertThat(root.get("iteration")).isEqualTo(3L);
            assertThat(root.get("dp_world_size")).isEqualTo(1L);
            assertThat(list(root.get("buffer_names")))
                    .containsExactly("lm.transformer.h.0.attn.attention.bias", "image_prefix.enc.bn1.running_mean");
            Map<?, ?> shapes = (Map<?, ?>) root.get("param_shapes");
            assertThat(set(shapes.keySet())).containsExactly("image_prefix.proj.weight", "lm.transformer.wte.weight");
            assertThat(list(shapes.get("image_prefix.proj.weight"))).containsExactly(2L, 4L);
            assertThat(set(root.get("a_set"))).containsExactlyInAnyOrder(1L, 2L);
            assertThat(set(root.get("frozen"))).containsExactly("x");
            assertThat(root.containsKey("nothing")).isTrue();
            assertThat(root.get("nothing")).isNull();
            assertThat(root.get("flag")).isEqualTo(Boolean.TRUE);
            assertThat(root.get("pi")).isEqualTo(3.25);
            assertThat(root.get("big")).isEqualTo(BigInteger.TWO.pow(100));
            assertThat(root.get("neg_big")).isEqualTo(BigInteger.TWO.pow(70).negate());
            assertThat((byte[]) root.get("blob")).containsExactly(0, 0xff, 'm', 'a', 'g', 'm', 'a');
            Map<?, ?> nested = (Map<?, ?>) root.get("nested");
            assertThat(list(nested.get("t"))).containsExactly(1L, "a", null);
            assertThat(list(nested.get("l"))).containsExactly(1.5, List.of(2L));

            InertObject namespace = (InertObject) root.get("namespace");
            assertThat(namespace.type()).isEqualTo(new PickleGlobal("argparse", "Namespace"));
            assertThat(namespace.attribute("lr")).isEqualTo(0.1);
            assertThat(namespace.attribute("name")).isEqualTo("magma");

            InertObject config = (InertObject) root.get("config");
            assertThat(config.module()).isEqualTo("magma.config");
            assertThat(config.name()).isEqualTo("MultimodalConfig");
            assertThat(config.state()).as("BUILD's state, the instance dict").isInstanceOf(Map.class);
            assertThat(((Map<?, ?>) config.state()).get("encoder_name")).isEqualTo("clip_resnet_large");
            assertThat(config.attribute("encoder_name")).isEqualTo("clip_resnet_large");
            assertThat(config.attribute("image_size")).isEqualTo(384L);
            assertThat(config.attribute("freeze_lm")).isEqualTo(Boolean.TRUE);
            Map<?, ?> adapter = (Map<?, ?>) ((Map<?, ?>) config.attribute("adapter_config")).get("mlp");
            assertThat(adapter.get("downsample_factor")).isEqualTo(4L);
            assertThat(config.toString()).isEqualTo("<inert magma.config.MultimodalConfig>");

            // An int32 tensor outside the state dict is never read, only described.
            PickledTensor ids = (PickledTensor) root.get("optimizer_ids");
            assertThat(ids.storage().type()).isEqualTo("IntStorage");
            assertThat(ids.storage().dtypeName()).isEqualTo("int32");
            assertThat(ids.shape()).containsExactly(3L);
            assertThat(((Map<?, ?>) root.get("module")).get("lm.some_int")).isEqualTo(7L);
            assertThat(checkpoint.tensor("image_prefix.enc.bn1.num_batches_tracked").getFloat(0)).isEqualTo(17f);
        }
    }

    @Test
    void rootContainersAreReadOnly() throws IOException {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("deepspeed.pt"))) {
            @SuppressWarnings("unchecked")
            Map<Object, Object> root = (Map<Object, Object>) checkpoint.root();
            assertThatThrownBy(() -> root.put("iteration", 4L)).isInstanceOf(UnsupportedOperationException.class);
            @SuppressWarnings("unchecked")
            List<Object> names = (List<Object>) root.get("buffer_names");
            assertThatThrownBy(() -> names.add("x")).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> checkpoint.tensors().clear()).isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Test
    void closingUnmapsAndLaterAccessThrowsInsteadOfCrashing() throws IOException {
        TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("deepspeed.pt"));
        Tensor wte = checkpoint.tensor("lm.transformer.wte.weight");
        float before = wte.getFloat(0);
        checkpoint.close();
        checkpoint.close(); // idempotent
        assertThat(before).isNotNaN();
        assertThatThrownBy(() -> wte.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(wte::toFloatArray).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> wte.data().get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void int32InTheStateDictIsAnErrorNamingTheTensorAndDtype() {
        Path file = CheckpointFixtures.path("int32.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor 'ids'")
                .hasMessageContaining("int32");
    }

    @Test
    void nonContiguousTensorIsAnErrorNamingIt() {
        Path file = CheckpointFixtures.path("transposed.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor 'w_t' is not contiguous (shape [3, 2], strides [1, 3])");
    }

    @Test
    void compressedEntriesAreAClearError() {
        Path file = CheckpointFixtures.path("deflated.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("entry 'plain/data.pkl' is compressed (deflate); torch.save writes stored entries:"
                        + " re-save the checkpoint");
    }

    @Test
    void legacyPickleFilesAreAClearError() {
        Path file = CheckpointFixtures.path("legacy.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("legacy torch.save file");
    }

    @Test
    void filesThatAreNotCheckpointsAreClearErrors(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "hello, not a zip");
        assertThatThrownBy(() -> TorchCheckpoint.open(text)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(text.toString()).hasMessageContaining("not a zip archive");
        Path empty = Files.write(dir.resolve("empty.pt"), new byte[0]);
        assertThatThrownBy(() -> TorchCheckpoint.open(empty)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(empty.toString());
        Path missing = dir.resolve("missing.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(missing)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(dir.toString());
        Path safetensors = CheckpointFixtures.path("python.safetensors");
        assertThatThrownBy(() -> TorchCheckpoint.open(safetensors)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a zip archive");

        Path otherZip = dir.resolve("other.zip");
        new ZipBuilder().add("readme.txt", "hi".getBytes()).write(otherZip);
        assertThatThrownBy(() -> TorchCheckpoint.open(otherZip)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("entry 'readme.txt' is not inside a folder: not a torch.save checkpoint");
        Path noPickle = dir.resolve("nopickle.pt");
        new ZipBuilder().add("archive/version", "3\n".getBytes()).write(noPickle);
        assertThatThrownBy(() -> TorchCheckpoint.open(noPickle)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("no archive/data.pkl in the zip");
    }

    @Test
    void callsOfArbitraryGlobalsStayInert(@TempDir Path dir) throws IOException {
        // What a malicious checkpoint does: {'evil': os.system('touch ...'), 'w': tensor}.
        Path marker = dir.resolve("pwned");
        byte[] pickle = new PickleBuilder().proto(2).op('}').mark()
                .str("evil").global("posix", "system").str("touch " + marker).op(0x85, 'R')
                .str("w").tensor("HalfStorage", "0", 2, 0, new long[] {2}, new long[] {1})
                .op('u').stop().bytes();
        Path file = dir.resolve("evil.pt");
        new ZipBuilder().add("archive/data.pkl", pickle).add("archive/data/0", new byte[] {0, 0x3c, 0, (byte) 0xc0})
                .write(file);
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(file)) {
            InertObject evil = (InertObject) ((Map<?, ?>) checkpoint.root()).get("evil");
            assertThat(evil.type()).isEqualTo(new PickleGlobal("posix", "system"));
            assertThat(evil.args()).containsExactly("touch " + marker);
            assertThat(checkpoint.tensor("w").toFloatArray()).containsExactly(1f, -2f);
        }
        assertThat(marker).doesNotExist();
    }

    @Test
    void storageEntriesMustMatchThePickle(@TempDir Path dir) throws IOException {
        byte[] pickle = new PickleBuilder().proto(2).op('}').mark()
                .str("w").tensor("HalfStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .op('u').stop().bytes();
        Path shortStorage = dir.resolve("short.pt");
        new ZipBuilder().add("archive/data.pkl", pickle).add("archive/data/0", new byte[6]).write(shortStorage);
        assertThatThrownBy(() -> TorchCheckpoint.open(shortStorage)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'w': its storage archive/data/0 has 6 bytes, the pickle says 4 x float16");
        Path noStorage = dir.resolve("nostorage.pt");
        new ZipBuilder().add("archive/data.pkl", pickle).write(noStorage);
        assertThatThrownBy(() -> TorchCheckpoint.open(noStorage)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'w': its storage '0' has no entry archive/data/0");

        byte[] outside = new PickleBuilder().proto(2).op('}').mark()
                .str("w").tensor("HalfStorage", "0", 4, 3, new long[] {2}, new long[] {1})
                .op('u').stop().bytes();
        Path beyond = dir.resolve("beyond.pt");
        new ZipBuilder().add("archive/data.pkl", outside).add("archive/data/0", new byte[8]).write(beyond);
        assertThatThrownBy(() -> TorchCheckpoint.open(beyond)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'w': its elements [3, 3 + 2) lie outside its storage of 4 elements");
    }

    @Test
    void aTopLevelThatIsNotADictIsAnError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("list.pt");
        new ZipBuilder().add("archive/data.pkl", new PickleBuilder().proto(2).op(']').stop().bytes()).write(file);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("the pickle holds a list, not a dict");
        Path module = dir.resolve("module.pt");
        new ZipBuilder().add("archive/data.pkl", new PickleBuilder().proto(2).op('}').str("module").integer(3)
                .op('s').stop().bytes()).write(module);
        assertThatThrownBy(() -> TorchCheckpoint.open(module)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("the top-level 'module' is a int, not a state dict");
    }

    @Test
    void otherTensorKindsInTheStateDictAreErrorsNotSilentlySkipped(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("quantized.pt");
        new ZipBuilder().add("archive/data.pkl", new PickleBuilder().proto(2).op('}').str("q")
                .global("torch._utils", "_rebuild_qtensor").op(')', 'R', 's').stop().bytes()).write(file);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'q' is built by torch._utils._rebuild_qtensor");
    }

    @Test
    void listingOrderIsPickleOrderForEveryMagmaLikeFixture() throws IOException {
        List<String> first = null;
        for (String fixture : MAGMA_LIKE) {
            try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path(fixture))) {
                List<String> names = new ArrayList<>(checkpoint.tensors().keySet());
                if (first == null) {
                    first = names;
                }
                assertThat(names).as(fixture).isEqualTo(first);
            }
        }
        assertThat(first).startsWith("lm.transformer.wte.weight", "lm.transformer.h.0.ln_1.weight")
                .endsWith("word_embedding.weight", "transformer.0.ln_1.weight");
    }

    @SuppressWarnings("unchecked")
    private static Path checkpoint(Path dir, String name, byte[] pickle, int storageBytes, String byteOrder)
            throws IOException {
        ZipBuilder zip = new ZipBuilder().add("archive/data.pkl", pickle).add("archive/data/0", new byte[storageBytes]);
        if (byteOrder != null) {
            zip.add("archive/byteorder", byteOrder.getBytes(StandardCharsets.US_ASCII));
        }
        Path file = dir.resolve(name);
        zip.write(file);
        return file;
    }

    private static byte[] oneTensor(long numel, long[] shape, long[] stride) {
        return new PickleBuilder().proto(2).op('}').mark()
                .str("w").tensor("FloatStorage", "0", numel, 0, shape, stride)
                .op('u').stop().bytes();
    }

    @Test
    void aRecordedByteOrderMustBeLittle(@TempDir Path dir) throws IOException {
        byte[] pickle = oneTensor(2, new long[] {2}, new long[] {1});
        // torch 2 writes "little"; padding is stripped, up to the 16 bytes a byte order record may have.
        for (String little : new String[] {"little", "little\n", "little" + " ".repeat(10)}) {
            try (TorchCheckpoint c = TorchCheckpoint.open(checkpoint(dir, "ok.pt", pickle, 8, little))) {
                assertThat(c.tensor("w").toFloatArray()).containsExactly(0f, 0f);
                assertThat(c.path()).isEqualTo(dir.resolve("ok.pt"));
                assertThat(c).hasToString("TorchCheckpoint[" + dir.resolve("ok.pt") + ", 1 tensors]");
            }
        }
        Path big = checkpoint(dir, "big.pt", pickle, 8, "big");
        assertThatThrownBy(() -> TorchCheckpoint.open(big)).isInstanceOf(CheckpointException.class)
                .hasMessage(big + ": saved with byte order 'big'; only little-endian checkpoints are read");
        Path long17 = checkpoint(dir, "long.pt", pickle, 8, "little" + " ".repeat(11));
        assertThatThrownBy(() -> TorchCheckpoint.open(long17)).isInstanceOf(CheckpointException.class)
                .hasMessageEndingWith("saved with byte order '?'; only little-endian checkpoints are read");
    }

    @Test
    void everyDimensionOfATensorMustBeContiguousButAnEmptyTensorHasNoLayout(@TempDir Path dir) throws IOException {
        Path rowGap = checkpoint(dir, "gap.pt", oneTensor(8, new long[] {2, 3}, new long[] {4, 1}), 32, null);
        assertThatThrownBy(() -> TorchCheckpoint.open(rowGap)).isInstanceOf(CheckpointException.class)
                .hasMessageEndingWith("tensor 'w' is not contiguous (shape [2, 3], strides [4, 1]): save it as tensor.contiguous()");
        // A dimension of size 1 may have any stride, and a tensor without elements any strides at all.
        try (TorchCheckpoint c = TorchCheckpoint.open(
                checkpoint(dir, "one.pt", oneTensor(3, new long[] {1, 3}, new long[] {7, 1}), 12, null))) {
            assertThat(c.tensor("w").shape()).containsExactly(1, 3);
        }
        try (TorchCheckpoint c = TorchCheckpoint.open(
                checkpoint(dir, "empty.pt", oneTensor(0, new long[] {0, 3}, new long[] {5, 2}), 0, null))) {
            assertThat(c.tensor("w").shape()).containsExactly(0, 3);
            assertThat(c.tensor("w").numel()).isZero();
        }
    }

    static List<Object> list(Object value) {
        return (List<Object>) value;
    }

    @SuppressWarnings("unchecked")
    static Set<Object> set(Object value) {
        return (Set<Object>) value;
    }
}
