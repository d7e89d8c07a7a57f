package io.github.magmajava.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A whole file mapped read-only in a shared arena: any size (the 13 GB checkpoint included), any
 * thread. Closing unmaps it; every segment sliced from it then throws {@link IllegalStateException}
 * on access instead of touching unmapped memory.
 */
final class MappedFile implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment bytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MappedFile(Arena arena, MemorySegment bytes) {
        this.arena = arena;
        this.bytes = bytes;
    }

    static MappedFile open(Path file) throws CheckpointException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return new MappedFile(arena, channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new CheckpointException(file, "no such file");
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw new CheckpointException(file, "cannot map the file: " + e, e);
        }
    }

    /** The file's bytes, read-only. */
    MemorySegment bytes() {
        return bytes;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }
}
