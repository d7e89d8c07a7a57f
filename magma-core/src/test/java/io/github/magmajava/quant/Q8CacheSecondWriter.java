package io.github.magmajava.quant;

import io.github.magmajava.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The other process of {@link Q8CacheLockTest}: opens the q8 cache of {@code args[0]} in
 * {@code args[1]} as a first run would, printing {@code quantizing} if it gets as far as writing.
 */
final class Q8CacheSecondWriter {
    private Q8CacheSecondWriter() {
    }

    public static void main(String[] args) throws IOException {
        Path source = Path.of(args[0]);
        Q8Cache.FreeSpace announced = dir -> {
            System.out.println("quantizing");
            return Q8Cache.DISK.usable(dir);
        };
        try (SafetensorsFile f = SafetensorsFile.open(source);
                Q8Weights q = Q8Cache.open(source, Q8CacheTest.matrices(f), Path.of(args[1]), announced)) {
            System.out.println("opened " + q.tensors().size() + " weights");
        }
    }
}
