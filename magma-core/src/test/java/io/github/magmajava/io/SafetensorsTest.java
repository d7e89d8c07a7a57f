package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.github.magmajava.io.CheckpointFixtures.ExpectedTensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void readsAFileBuiltByPythonPerTheFormatSpec() throws IOException {
        List<ExpectedTensor> expected = CheckpointFixtures.expected("python.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(CheckpointFixtures.path("python.safetensors"))) {
            assertThat(file.metadata()).containsExactly(Map.entry("format", "pt"),
                    Map.entry("source", "make_checkpoint_fixtures.py"));
            assertThat(file.tensors().keySet()).containsExactlyElementsOf(
                    expected.stream().map(ExpectedTensor::name).toList());
            for (ExpectedTensor e : expected) {
                Tensor t = file.tensor(e.name());
                assertThat(t.dtype().torchName()).isEqualTo(e.dtype());
                assertThat(t.shape()).containsExactly(e.shape().stream().mapToLong(Long::longValue).toArray());
                assertThat(HexFormat.of().formatHex(t.data().toArray(ValueLayout.JAVA_BYTE))).isEqualTo(e.hex());
                assertThat(t.data().isReadOnly()).isTrue();
            }
            assertThat(file.tensor("c.count").rank()).isZero();
            assertThat(file.tensor("d.mask").toFloatArray()).containsExactly(1, 0, 1);
        }
    }

    @Test
    void roundTripsEveryDtypeOfACheckpointAlignedAndPadded() throws IOException {
        Path out = dir.resolve("plain.safetensors");
        Map<String, String> metadata = Map.of("format", "pt", "origin", "plain.pt");
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("plain.pt"))) {
            Safetensors.write(out, checkpoint.tensors().values(), metadata);
            try (SafetensorsFile file = SafetensorsFile.open(out)) {
                assertThat(file.metadata()).isEqualTo(metadata);
                assertThat(file.tensors().keySet()).containsExactlyInAnyOrderElementsOf(checkpoint.tensors().keySet());
                for (Tensor original : checkpoint.tensors().values()) {
                    Tensor copy = file.tensor(original.name());
                    assertThat(copy.dtype()).isEqualTo(original.dtype());
                    assertThat(copy.shape()).isEqualTo(original.shape());
                    assertThat(copy.data().mismatch(original.data())).as(original.name()).isEqualTo(-1);
                }
                // Largest elements first, the caller's order within a size: every tensor aligned.
                List<Tensor> layout = new ArrayList<>(file.tensors().values());
                long headerLength = Files.size(out) - layout.stream().mapToLong(t -> t.data().byteSize()).sum() - 8;
                assertThat(headerLength % 8).isZero();
                long fileStart = file.tensor(layout.getFirst().name()).data().address() - 8 - headerLength;
                for (int i = 0; i < layout.size(); i++) {
                    Tensor t = layout.get(i);
                    assertThat((t.data().address() - fileStart) % t.dtype().byteSize()).as(t.name()).isZero();
                    if (i > 0) {
                        assertThat(t.dtype().byteSize()).isLessThanOrEqualTo(layout.get(i - 1).dtype().byteSize());
                    }
                }
                List<String> f16 = layout.stream().filter(t -> t.dtype() == DType.FLOAT16).map(Tensor::name).toList();
                List<String> f16InCheckpoint = checkpoint.tensors().values().stream()
                        .filter(t -> t.dtype() == DType.FLOAT16).map(Tensor::name).toList();
                assertThat(f16).isEqualTo(f16InCheckpoint);
            }
        }
        byte[] bytes = Files.readAllBytes(out);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"__metadata__\":{").endsWith("}" + " ".repeat(header.length() - header.strip().length()));
        assertThat(header.length() - header.strip().length()).as("padding to a multiple of 8, no more").isLessThan(8);
    }

    @Test
    void theSmallestFilesAndTheWidestShapes() throws IOException {
        assertError(new byte[7], "only 7 bytes: too short for a safetensors header");
        assertError(new byte[8], "the header is not a JSON object");
        Path empty = Files.write(dir.resolve("empty.safetensors"), header(2, "{}".getBytes(StandardCharsets.US_ASCII), 0));
        try (SafetensorsFile file = SafetensorsFile.open(empty)) {
            assertThat(file.tensors()).isEmpty();
            assertThat(file.metadata()).isEmpty();
            assertThat(file.path()).isEqualTo(empty);
            assertThat(file).hasToString("SafetensorsFile[" + empty + ", 0 tensors]");
        }
        String ones64 = "[" + "1,".repeat(63) + "1]";
        assertThat(open("{\"t\":{\"dtype\":\"BOOL\",\"shape\":" + ones64 + ",\"data_offsets\":[0,1]}}", 1)).isNull();
        assertThat(open("{\"t\":{\"dtype\":\"BOOL\",\"shape\":" + ones64.replace("[", "[1,") + ",\"data_offsets\":[0,1]}}", 1))
                .endsWith("tensor 't': shape is not a list of integers");
    }

    @Test
    void tensorsComeInDataOrderWhateverTheHeaderOrder() throws IOException {
        String json = "{\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[4,6]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] raw = json.getBytes(StandardCharsets.US_ASCII);
        byte[] bytes = header(raw.length, raw, 6);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putFloat(8 + raw.length, 1.5f).putShort(8 + raw.length + 4,
                (short) 0x3c00);
        Path file = Files.write(dir.resolve("order.safetensors"), bytes);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.tensors().keySet()).containsExactly("a", "b");
            assertThat(st.tensor("a").toFloatArray()).containsExactly(1.5f);
            assertThat(st.tensor("b").toFloatArray()).containsExactly(1f);
        }
    }

    @Test
    void streamsLargeNativeAndHeapTensorsInChunks() throws IOException {
        int floats = (Safetensors.CHUNK_BYTES / 4) + 1_000_003;
        float[] heap = new float[floats];
        for (int i = 0; i < floats; i++) {
            heap[i] = i * 0.5f;
        }
        Path out = dir.resolve("big.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeBytes = arena.allocate(Safetensors.CHUNK_BYTES * 2L + 5);
            for (long i = 0; i < nativeBytes.byteSize(); i++) {
                nativeBytes.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            Tensor heapTensor = new Tensor("heap", DType.FLOAT32, new long[] {floats}, MemorySegment.ofArray(heap));
            Tensor nativeTensor = new Tensor("native", DType.BOOL, new long[] {nativeBytes.byteSize()}, nativeBytes);
            Safetensors.write(out, List.of(nativeTensor, heapTensor), Map.of());
            try (SafetensorsFile file = SafetensorsFile.open(out)) {
                assertThat(file.metadata()).isEmpty();
                assertThat(file.tensor("heap").data().mismatch(MemorySegment.ofArray(heap))).isEqualTo(-1);
                assertThat(file.tensor("native").data().mismatch(nativeBytes)).isEqualTo(-1);
            }
        }
    }

    @Test
    void writingIsAtomicAndLeavesNoTemporaryFileBehind() throws IOException {
        Path out = Files.writeString(dir.resolve("model.safetensors"), "previous content");
        TorchCheckpoint checkpoint = TorchCheckpoint.open(CheckpointFixtures.path("plain.pt"));
        List<Tensor> tensors = List.copyOf(checkpoint.tensors().values());
        checkpoint.close();
        assertThatThrownBy(() -> Safetensors.write(out, tensors, Map.of())).isInstanceOf(IllegalStateException.class);
        assertThat(Files.readString(out)).isEqualTo("previous content");
        assertThat(listDir()).containsExactly(out);

        Tensor one = new Tensor("x", DType.FLOAT32, new long[] {1}, MemorySegment.ofArray(new float[] {1}));
        assertThatThrownBy(() -> Safetensors.write(out, List.of(one, one), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'x' is used twice");
        assertThatThrownBy(() -> Safetensors.write(out, List.of(one.withName("__metadata__")), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
        assertThat(Files.readString(out)).isEqualTo("previous content");

        Safetensors.write(out, List.of(one), Map.of("k", "v"));
        try (SafetensorsFile file = SafetensorsFile.open(out)) {
            assertThat(file.tensor("x").getFloat(0)).isEqualTo(1f);
        }
        assertThat(listDir()).containsExactly(out);
    }

    @Test
    void closingUnmaps() throws IOException {
        SafetensorsFile file = SafetensorsFile.open(CheckpointFixtures.path("python.safetensors"));
        Tensor t = file.tensor("a.weight");
        file.close();
        file.close();
        assertThatThrownBy(() -> t.getFloat(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void headersAreValidatedBeforeAnythingIsTrusted() throws IOException {
        String ok = "{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        assertThat(open(ok + "   ", 4)).isNull();
        assertError(new byte[5], "only 5 bytes: too short for a safetensors header");
        assertError(header(1000, ok.getBytes(), 4), "the header length 1000 exceeds the file");
        assertError(header(-1, ok.getBytes(), 4), "the header length 18446744073709551615 exceeds");
        assertThat(open("{", 0)).contains("the header is not valid JSON");
        assertThat(open("[1,2]", 0)).contains("the header is not a JSON object");
        assertThat(open("{} x", 0)).contains("the header is not valid JSON");
        assertThat(open("{\"t\":1,\"t\":2}", 0)).contains("the header is not valid JSON").contains("Duplicate field 't'");
        assertThat(open("{\"a\":" + "[".repeat(1000) + "]".repeat(1000) + "}", 0)).contains("not valid JSON");
        assertError(header(4, new byte[] {'{', (byte) 0xc3, 0x28, '}'}, 0), "the header is not valid UTF-8");
        assertThat(open(ok.replace("F16", "I32"), 4)).contains("tensor 't' has dtype \"I32\"; magma-java reads F16, BF16,");
        assertThat(open(ok.replace("[2]", "[-2]"), 4)).contains("tensor 't': shape holds -2, not a non-negative int64");
        assertThat(open(ok.replace("[2]", "[2.5]"), 4)).contains("shape holds 2.5");
        assertThat(open(ok.replace("[2]", "[99999999999999999999]"), 4)).contains("not a non-negative int64");
        assertThat(open(ok.replace("[2]", "[4294967296,4294967296]"), 4)).contains("is too large");
        assertThat(open(ok.replace("[0,4]", "[0,4,8]"), 4)).contains("data_offsets is not a list of 2 integers");
        assertThat(open(ok.replace("[0,4]", "[0,6]"), 6)).contains("data_offsets [0,6] span 6 bytes, F16[2] needs 4");
        assertThat(open(ok.replace("[0,4]", "[4,0]"), 4)).contains("span -4 bytes");
        assertThat(open(ok.replace("[0,4]", "[2,6]"), 6)).contains("begins at data byte 2, leaving a hole after 0");
        assertThat(open(ok, 8)).contains("the tensors cover 4 data bytes but the file has 8");
        assertThat(open(ok, 2)).contains("the tensors cover 4 data bytes but the file has 2");
        assertThat(open(ok.replace("}}", "},\"u\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}"), 4))
                .contains("overlapping the tensor before it, which ends at 4");
        assertThat(open(ok.replace("}}", ",\"extra\":1}}"), 4)).contains("not {dtype, shape, data_offsets}");
        assertThat(open(ok.replace("{\"t\"", "{\"__metadata__\":{\"n\":1},\"t\""), 4))
                .contains("__metadata__ entry 'n' is not a string");
        assertThat(open("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0)).isNull();
    }

    @Test
    void theHeaderLengthIsBounded() throws IOException {
        Path file = dir.resolve("huge.safetensors");
        long length = SafetensorsFile.MAX_HEADER_BYTES + 1;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(8 + length); // sparse: no disk used
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(length).array());
        }
        assertThatThrownBy(() -> SafetensorsFile.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("exceeds the file (" + (8 + length) + " bytes) or the 100 MiB limit");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void truncatedOrFlippedFilesFailCleanly() throws IOException {
        byte[] whole = CheckpointFixtures.bytes("python.safetensors");
        int errors = 0;
        for (int n = 0; n < whole.length; n++) {
            errors += attempt(Arrays.copyOf(whole, n), "cut to " + n);
        }
        assertThat(errors).isEqualTo(whole.length);
        Random random = new Random(7);
        int opened = 0;
        for (int v = 0; v < 500; v++) {
            byte[] variant = whole.clone();
            int at = random.nextInt(v < 400 ? 8 + (int) ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN).getLong(0)
                    : whole.length);
            variant[at] ^= (byte) (1 + random.nextInt(255));
            opened += 1 - attempt(variant, "flipped at " + at);
        }
        assertThat(opened).isBetween(1, 499);
    }

    private int variants;

    /** 1 when the variant was refused with a CheckpointException naming it, 0 when it opened and read fine. */
    private int attempt(byte[] content, String what) throws IOException {
        Path file = Files.write(dir.resolve("variant" + variants++ + ".safetensors"), content);
        int refused = 0;
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            st.tensors().values().forEach(Tensor::toFloatArray);
        } catch (CheckpointException e) {
            assertThat(e.getMessage()).as(what).contains(file.toString());
            refused = 1;
        } catch (Throwable t) {
            fail(what + ": " + t, t);
        }
        Files.delete(file);
        return refused;
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }

    private static byte[] header(long length, byte[] json, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length).put(json);
        return b.array();
    }

    /** Opens a file with this header and data size: null when it opens, else the error message. */
    private String open(String json, int dataBytes) throws IOException {
        byte[] raw = json.getBytes(StandardCharsets.UTF_8);
        Path file = Files.write(dir.resolve("h" + variants++ + ".safetensors"), header(raw.length, raw, dataBytes));
        try (SafetensorsFile ignored = SafetensorsFile.open(file)) {
            return null;
        } catch (CheckpointException e) {
            assertThat(e.getMessage()).startsWith(file + ": ");
            return e.getMessage();
        }
    }

    private void assertError(byte[] content, String message) throws IOException {
        Path file = Files.write(dir.resolve("e" + variants++ + ".safetensors"), content);
        assertThatThrownBy(() -> SafetensorsFile.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(file + ": ").hasMessageContaining(message);
    }
}
