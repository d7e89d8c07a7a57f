package io.github.magmajava.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens a model file by what it contains, not by its name. */
public final class TensorFiles {
    private TensorFiles() {
    }

    /**
     * A {@link TorchCheckpoint} for a zip (a torch.save file) or a bare pickle (so that a legacy
     * torch.save file gets its own clear error), a {@link SafetensorsFile} for a file whose header
     * starts like safetensors' (a little-endian length, then <code>'{'</code>).
     *
     * @throws CheckpointException naming the file when it is neither, or cannot be read
     */
    public static TensorFile open(Path file) throws CheckpointException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(9);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read the file: " + e, e);
        }
        // Safetensors first: its header length may begin with any byte (0x80 like a pickle, even "PK").
        // A length below 4 GiB (the reader takes far less) followed by '{' begins no zip (version,
        // flags, then the method) and no pickle torch writes.
        if (head.length == 9 && head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] == 0 && head[8] == '{') {
            return SafetensorsFile.open(file);
        }
        boolean zip = head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        boolean pickle = head.length >= 1 && (head[0] & 0xff) == 0x80;
        if (zip || pickle) {
            return TorchCheckpoint.open(file);
        }
        if (head.length == 9 && head[8] == '{') {
            return SafetensorsFile.open(file);
        }
        throw new CheckpointException(file, "neither a torch.save checkpoint (a zip) nor a safetensors file");
    }
}
