package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Test
    void otherFilesAreClearErrors(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> TensorFiles.open(CheckpointFixtures.path("legacy.pt")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("legacy torch.save file");
        Path text = Files.writeString(dir.resolve("notes.txt"), "just some text");
        assertThatThrownBy(() -> TensorFiles.open(text)).isInstanceOf(CheckpointException.class)
                .hasMessage(text + ": neither a torch.save checkpoint (a zip) nor a safetensors file");
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> TensorFiles.open(missing)).isInstanceOf(CheckpointException.class)
                .hasMessage(missing + ": no such file");
    }
}
