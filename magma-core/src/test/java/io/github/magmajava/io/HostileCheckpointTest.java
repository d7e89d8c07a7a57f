package io.github.magmajava.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged and hostile checkpoints: every one must end in a {@link CheckpointException} naming the
 * file, or, where the damage leaves a valid checkpoint (a flipped tensor byte), a normal result
 * whose tensors can all be read. Never another exception, an OOM, a crash or a hang.
 */
class HostileCheckpointTest {
    @TempDir
    Path dir;

    private int errors;
    private int opened;
    private int variants;

    /**
     * A fresh name per variant, deleted after use: overwriting one file would make ext4 flush it
     * on every close (auto_da_alloc), 20 times slower.
     */
    private Path nextFile() {
        return dir.resolve("variant" + variants++ + ".pt");
    }

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed.pt", "zip64_full.pt", "zip64.pt"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void truncatedAtEveryOffset(String fixture) throws IOException {
        byte[] whole = CheckpointFixtures.bytes(fixture);
        for (int n = 0; n < whole.length; n++) {
            attempt(Arrays.copyOf(whole, n), fixture + " cut to " + n + " bytes");
        }
        assertThat(errors).isEqualTo(whole.length);
    }

    /** The end records kept, everything before them cut short: every directory offset now points too far. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void middleCutAtEveryOffsetKeepingTheEndRecords() throws IOException {
        byte[] whole = CheckpointFixtures.bytes("deepspeed.pt");
        int tail = 22 + 20 + 56;
        for (int n = 0; n < whole.length - tail; n++) {
            byte[] cut = new byte[n + tail];
            System.arraycopy(whole, 0, cut, 0, n);
            System.arraycopy(whole, whole.length - tail, cut, n, tail);
            attempt(cut, "deepspeed.pt with bytes [" + n + ", " + (whole.length - tail) + ") removed");
        }
        assertThat(errors).isEqualTo(whole.length - tail);
    }

    /** A valid zip around a data.pkl truncated at every offset. */
    @ParameterizedTest
    @ValueSource(strings = {"deepspeed.pt", "deepspeed_protocol1.pt", "deepspeed_protocol4.pt"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void pickleTruncatedAtEveryOffset(String fixture) throws IOException {
        Map<String, byte[]> entries = entries(fixture);
        String pickleName = entries.keySet().iterator().next();
        byte[] pickle = entries.get(pickleName);
        assertThat(pickleName).endsWith("/data.pkl");
        for (int n = 0; n < pickle.length; n++) {
            ZipBuilder zip = new ZipBuilder();
            for (var e : entries.entrySet()) {
                zip.add(e.getKey(), e.getKey().equals(pickleName) ? Arrays.copyOf(pickle, n) : e.getValue());
            }
            Path file = nextFile();
            zip.write(file);
            attempt(file, fixture + " with data.pkl cut to " + n + " bytes");
        }
        assertThat(errors).isEqualTo(pickle.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"deepspeed.pt", "deepspeed_protocol1.pt", "deepspeed_protocol4.pt", "zip64_full.pt"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void flippedBytesInThePickleTheDirectoryAndAnywhere(String fixture) throws IOException {
        byte[] whole = CheckpointFixtures.bytes(fixture);
        Map<String, byte[]> entries = entries(fixture);
        byte[] pickle = entries.values().iterator().next();
        int pickleStart = indexOf(whole, pickle);
        int directoryStart = indexOf(whole, new byte[] {'P', 'K', 1, 2});
        assertThat(pickleStart).isPositive();
        assertThat(directoryStart).isGreaterThan(pickleStart);
        Random random = new Random(fixture.hashCode());
        int[][] regions = {
            {pickleStart, pickleStart + pickle.length, 400},
            {directoryStart, whole.length, 300},
            {0, whole.length, 300},
        };
        for (int[] region : regions) {
            for (int v = 0; v < region[2]; v++) {
                byte[] variant = whole.clone();
                int flips = 1 + random.nextInt(4);
                StringBuilder what = new StringBuilder(fixture + " flipped at");
                for (int f = 0; f < flips; f++) {
                    int at = region[0] + random.nextInt(region[1] - region[0]);
                    variant[at] ^= (byte) (1 + random.nextInt(255));
                    what.append(' ').append(at);
                }
                attempt(variant, what.toString());
            }
        }
        assertThat(errors + opened).isEqualTo(1000);
        assertThat(errors).isGreaterThan(300);
    }

    private void attempt(byte[] content, String what) throws IOException {
        attempt(Files.write(nextFile(), content), what);
    }

    private void attempt(Path file, String what) {
        try (TorchCheckpoint checkpoint = TorchCheckpoint.open(file)) {
            for (Tensor t : checkpoint.tensors().values()) {
                t.data().toArray(ValueLayout.JAVA_BYTE);
                t.toFloatArray();
            }
            if (checkpoint.root() instanceof Map<?, ?> root) {
                root.forEach((k, v) -> String.valueOf(k));
            }
            opened++;
        } catch (CheckpointException e) {
            if (!e.getMessage().contains(file.toString())) {
                fail(what + ": the message does not name the file: " + e.getMessage());
            }
            errors++;
        } catch (Throwable t) {
            fail(what + ": " + t, t);
        }
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixture's entries by name, in order, read with the JDK's own zip reader. */
    private static Map<String, byte[]> entries(String fixture) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(CheckpointFixtures.path(fixture).toFile())) {
            for (ZipEntry e : Collections.list(zip.entries())) {
                out.put(e.getName(), zip.getInputStream(e).readAllBytes());
            }
        }
        return out;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
