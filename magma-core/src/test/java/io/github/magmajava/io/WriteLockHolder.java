package io.github.magmajava.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * The other process of {@link WriteLockTest}: owns {@code args[0]}, says {@code locked}, and keeps
 * it until its standard input closes.
 */
final class WriteLockHolder {
    private WriteLockHolder() {
    }

    public static void main(String[] args) throws IOException {
        try (WriteLock lock = WriteLock.acquire(Path.of(args[0]), "the test file")) {
            System.out.println("locked");
            System.out.flush();
            System.in.transferTo(OutputStream.nullOutputStream());
        }
    }
}
