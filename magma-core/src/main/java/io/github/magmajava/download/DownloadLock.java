package io.github.magmajava.download;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;

/**
 * The right to write one download's files ({@code NAME.part}, its sidecar, {@code NAME}): an OS
 * lock on {@code .NAME.lock} beside them, which other processes see and which the OS drops when
 * its process dies. Java file locks belong to the whole process, so the threads of this JVM first
 * take a permit per lock file. The lock file is never deleted (two writers could then lock two
 * different files of the same name).
 */
final class DownloadLock implements AutoCloseable {
    /** One permit per lock file (real path), never removed: a few per directory at most. */
    private static final ConcurrentMap<Path, Semaphore> PERMITS = new ConcurrentHashMap<>();

    private final Semaphore permit;
    private final FileChannel channel;

    private DownloadLock(Semaphore permit, FileChannel channel) {
        this.permit = permit;
        this.channel = channel;
    }

    static Path file(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".lock");
    }

    /** Owns {@code target} if no thread or process does; null when one does. Its directory must exist. */
    static DownloadLock tryAcquire(Path target) throws IOException {
        Semaphore permit = permit(target);
        if (!permit.tryAcquire()) {
            return null;
        }
        return lock(target, permit, false);
    }

    /** Owns {@code target}, first waiting (interruptibly) for the thread or process that owns it now. */
    static DownloadLock acquire(Path target) throws IOException {
        Semaphore permit = permit(target);
        try {
            permit.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for another download of " + target);
        }
        return lock(target, permit, true);
    }

    private static Semaphore permit(Path target) throws IOException {
        Path lockFile = file(target);
        Path real = lockFile.toAbsolutePath().getParent().toRealPath().resolve(lockFile.getFileName());
        return PERMITS.computeIfAbsent(real, k -> new Semaphore(1));
    }

    /** The OS lock for the holder of {@code permit}; the permit goes back unless a lock is returned. */
    private static DownloadLock lock(Path target, Semaphore permit, boolean wait) throws IOException {
        Path lockFile = file(target);
        FileChannel channel = null;
        boolean locked = false;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            locked = (wait ? channel.lock() : channel.tryLock()) != null;
            return locked ? new DownloadLock(permit, channel) : null;
        } catch (ClosedByInterruptException | FileLockInterruptionException e) {
            throw new InterruptedIOException("interrupted while waiting for the lock on " + lockFile);
        } catch (IOException e) {
            throw new DownloadException(lockFile + ": cannot lock it (" + e + "); downloads need a directory that supports file locks", e);
        } finally {
            if (!locked) {
                try {
                    if (channel != null) {
                        channel.close();
                    }
                } finally {
                    permit.release();
                }
            }
        }
    }

    /** Drops the OS lock (closing its channel), then the permit. */
    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            permit.release();
        }
    }
}
