package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorFilesTest {
    @Test
    void opensEachFormatByItsContent(@TempDir Path dir) throws IOException {
        Path torchAsOther = Files.copy(CheckpointFixtures.path("plain.pt"), dir.resolve("weights.bin"));
        try (TensorFile file = TensorFiles.open(torchAsOther)) {
            assertThat(file).isInstanceOf(TorchCheckpoint.class);
            assertThat(file.tensors()).containsKey("0.weight");
        }
        Path safetensorsAsOther = Files.copy(CheckpointFixtures.path("python.safetensors"), dir.resolve("weights.pt"));
        try (TensorFile file = TensorFiles.open(safetensorsAsOther)) {
            assertThat(file).isInstanceOf(SafetensorsFile.class);
            assertThat(file.tensors()).containsKey("a.weight");
        }
    }

    /** A header length whose first byte is a pickle's (0x80) is still safetensors: magma convert wrote such files. */
    @Test
    void aSafetensorsHeaderLengthThatBeginsLikeAPickleIsSafetensors(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("model.safetensors");
        Tensor t = new Tensor("w", DType.FLOAT16, new long[] {2}, MemorySegment.ofArray(new short[2]));
        for (int pad = 0; pad < 256; pad++) {
            Safetensors.write(file, List.of(t), Map.of("pad", "x".repeat(pad)));
            if ((Files.readAllBytes(file)[0] & 0xff) == 0x80) {
                break;
            }
        }
        assertThat(Files.readAllBytes(file)[0] & 0xff).isEqualTo(0x80);
        try (TensorFile opened = TensorFiles.open(file)) {
            assertThat(opened).isInstanceOf(SafetensorsFile.class);
            assertThat(opened.tensors()).containsOnlyKeys("w");
        }
    }

    @Test
    void otherFilesAreClearErrors(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> TensorFiles.open(CheckpointFixtures.path("legacy.pt")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("legacy torch.save file");
        Path text = Files.writeString(dir.resolve("notes.txt"), "just some text");
        assertThatThrownBy(() -> TensorFiles.open(text)).isInstanceOf(CheckpointException.class)
                .hasMessage(text + ": neither a torch.save checkpoint (a zip) nor a safetensors file");
        // As short as a signature gets: the zip's and the pickle's go to the torch reader and its messages.
        Path zipSignature = Files.write(dir.resolve("pk.pt"), new byte[] {'P', 'K', 3, 4});
        assertThatThrownBy(() -> TensorFiles.open(zipSignature)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(zipSignature + ": not a zip archive");
        Path pickleByte = Files.write(dir.resolve("p.pt"), new byte[] {(byte) 0x80});
        assertThatThrownBy(() -> TensorFiles.open(pickleByte)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("a bare pickle: a legacy torch.save file");
        // '{' after a header length of 4 GiB or more is still read as safetensors, which refuses the length.
        Path hugeHeader = Files.write(dir.resolve("h.safetensors"), new byte[] {2, 0, 0, 0, 1, 0, 0, 0, '{', '}'});
        assertThatThrownBy(() -> TensorFiles.open(hugeHeader)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(hugeHeader + ": the header length 4294967298 exceeds the file (10 bytes)");
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> TensorFiles.open(missing)).isInstanceOf(CheckpointException.class)
                .hasMessage(missing + ": no such file");
    }
}
