package io.github.magmajava.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;

/**
 * The right to write one file (the q8 cache, a download): an OS lock on {@code .<file name>.lock}
 * beside it, which other processes see and which the OS drops when its process dies, so a writer
 * that was killed never blocks the next one. Java file locks belong to the whole process, and closing any
 * channel of a file may drop them, so the threads of this JVM first take a permit per lock file:
 * only the permit's holder ever opens the lock file. The lock file is never deleted (deleting it
 * would let two writers lock two different files of the same name).
 */
public final class WriteLock implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WriteLock.class.getName());
    /** One permit per lock file (real path), never removed: a few per directory at most. */
    private static final ConcurrentMap<Path, Semaphore> PERMITS = new ConcurrentHashMap<>();

    private final Semaphore permit;
    private final FileChannel channel;
    private boolean closed;

    private WriteLock(Semaphore permit, FileChannel channel) {
        this.permit = permit;
        this.channel = channel;
    }

    /** The lock file of {@code target}. */
    public static Path file(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".lock");
    }

    /**
     * Owns {@code target}, first waiting (interruptibly, and saying so in the log) for any thread
     * or process that owns it now; {@code what} names it in messages ("the q8 cache"). Its
     * directory must exist.
     */
    public static WriteLock acquire(Path target, String what) throws IOException {
        Path cache = target;
        Path lockFile = file(cache);
        Semaphore permit = permit(lockFile);
        if (!permit.tryAcquire()) {
            LOG.log(Level.INFO, "waiting for another thread of this process writing " + what + " " + cache);
            try {
                permit.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting to write " + what + " " + cache);
            }
        }
        return lock(cache, what, lockFile, permit, true);
    }

    /** Owns {@code target} if no thread or process does; null when one does. Its directory must exist. */
    public static WriteLock tryAcquire(Path target, String what) throws IOException {
        Path lockFile = file(target);
        Semaphore permit = permit(lockFile);
        return permit.tryAcquire() ? lock(target, what, lockFile, permit, false) : null;
    }

    private static Semaphore permit(Path lockFile) throws IOException {
        Path real = lockFile.toAbsolutePath().getParent().toRealPath().resolve(lockFile.getFileName());
        return PERMITS.computeIfAbsent(real, k -> new Semaphore(1));
    }

    /** Takes the OS lock for the holder of {@code permit}; gives the permit back unless it returns a lock. */
    private static WriteLock lock(Path cache, String what, Path lockFile, Semaphore permit, boolean wait) throws IOException {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            if (channel.tryLock() == null) {
                if (!wait) {
                    release(channel, permit);
                    return null;
                }
                LOG.log(Level.INFO, "waiting for another process writing " + what + " " + cache + " (it holds the lock on "
                        + lockFile + ")");
                channel.lock();
            }
            return new WriteLock(permit, channel);
        } catch (ClosedByInterruptException | FileLockInterruptionException e) {
            release(channel, permit);
            throw new InterruptedIOException("interrupted while waiting for the lock on " + lockFile);
        } catch (IOException e) {
            release(channel, permit);
            throw new IOException(lockFile + ": cannot lock it (" + e + "); writing " + what + " needs a directory that"
                    + " supports file locks (the cache directory: set MAGMA_CACHE_DIR)", e);
        } catch (RuntimeException | Error e) {
            release(channel, permit);
            throw e;
        }
    }

    private static void release(FileChannel channel, Semaphore permit) {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // closing only drops the lock, which was not taken
        } finally {
            permit.release();
        }
    }

    /** Drops the OS lock (closing its channel), then the permit. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } finally {
            permit.release();
        }
    }
}
