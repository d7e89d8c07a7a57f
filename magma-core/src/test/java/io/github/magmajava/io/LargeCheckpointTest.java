package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 5.2 GB checkpoint (a sparse file: a few KB on disk) like the real 13 GB one: a storage entry
 * over 4 GiB and an entry starting beyond 4 GiB, so sizes and offsets only fit the ZIP64 fields,
 * and a tensor beyond what one Java array or ByteBuffer can index. Tagged long: it relies on the
 * file system supporting sparse files.
 */
@Tag("long")
class LargeCheckpointTest {
    private static final long N = 2_600_000_000L;

    @Test
    void mapsAndViewsTensorsBeyondFourGigabytes(@TempDir Path dir) throws IOException {
        byte[] pickle = new PickleBuilder().proto(2).op('}').mark()
                .str("w").tensor("HalfStorage", "0", N, 0, new long[] {N}, new long[] {1})
                .str("after").tensor("HalfStorage", "1", 2, 0, new long[] {2}, new long[] {1})
                .op('u').stop().bytes();
        Path file = dir.resolve("big.pt");
        new ZipBuilder().add("big/data.pkl", pickle)
                .addSparse("big/data/0", 2 * N, Map.of(0L, new byte[] {0, 0x3c}, 2 * N - 2, new byte[] {0, (byte) 0xc0}))
                .add("big/data/1", new byte[] {0, 0x40, 0, 0x42})
                .write(file);
        assertThat(Files.size(file)).isGreaterThan(5_000_000_000L);

        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(file)) {
            Tensor w = checkpoint.tensor("w");
            assertThat(w.numel()).isEqualTo(N);
            assertThat(w.data().byteSize()).isEqualTo(2 * N);
            assertThat(w.getFloat(0)).isEqualTo(1f);
            assertThat(w.getFloat(N / 2)).isEqualTo(0f);
            assertThat(w.getFloat(N - 1)).isEqualTo(-2f);
            assertThat(checkpoint.tensor("after").toFloatArray()).containsExactly(2f, 3f);
        }
    }
}
