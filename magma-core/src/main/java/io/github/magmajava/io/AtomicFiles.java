package io.github.magmajava.io;

import java.io.IOException;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * A complete file or none: written under a temporary name beside the target, then renamed over it
 * in one step. On any failure the temporary file is removed and the error goes on, so no reader
 * ever finds a half-written file where a complete one is expected.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes a file's content to the path it is given. */
    @FunctionalInterface
    public interface Body {
        void writeTo(Path temp) throws IOException;
    }

    /**
     * Writes {@code body} to {@code temp} (in the target's directory, so the rename stays on one
     * file system), then renames it to {@code target} atomically with {@code options}.
     */
    public static void write(Path temp, Path target, Body body, CopyOption... options) throws IOException {
        try {
            body.writeTo(temp);
            CopyOption[] atomic = Stream.concat(Stream.of(StandardCopyOption.ATOMIC_MOVE), Arrays.stream(options))
                    .toArray(CopyOption[]::new);
            Files.move(temp, target, atomic);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
