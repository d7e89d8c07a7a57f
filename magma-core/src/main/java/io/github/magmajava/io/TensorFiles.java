package io.github.magmajava.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens a model file by what its first bytes say it is: a {@code torch.save} zip or safetensors. */
public final class TensorFiles {
    private TensorFiles() {
    }

    public static TensorFile open(Path file) throws CheckpointException {
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K') {
            return TorchCheckpoint.open(file);
        }
        if (n == 9 && head[8] == '{') {
            return SafetensorsFile.open(file);
        }
        throw new CheckpointException(file, "neither a torch.save zip archive nor a safetensors file"
                + (n >= 2 && (head[0] & 0xff) == 0x80 ? " (it looks like a legacy, pre-1.6 torch.save pickle: re-save it with a current torch)" : ""));
    }
}
