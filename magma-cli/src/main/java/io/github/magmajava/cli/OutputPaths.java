package io.github.magmajava.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Output paths, checked before any work: a run that can only fail at its end (after a model load
 * and a generation) should fail at its start. Errors name the option and give the operating
 * system's reason, which Java's exceptions carry only in their type for the common cases.
 */
final class OutputPaths {
    private OutputPaths() {
    }

    /** Creates {@code dir} (and its parents) where missing, and checks that files can be created in it. */
    static void directory(String option, Path dir) throws IOException {
        String what = option + " " + dir;
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException(what + ": not a directory");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException(what + ": cannot create directory: " + reason(e), e);
        }
        probe(what, dir);
    }

    /**
     * Checks that {@code file} can be written: absent or a regular file, in a directory that takes
     * new files (writes go through a temporary file there, renamed over {@code file}).
     */
    static void file(String option, Path file) throws IOException {
        String what = option + " " + file;
        if (Files.isDirectory(file)) {
            throw new IOException(what + ": is a directory");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException(what + ": not a regular file (the file is written whole, then renamed into place)");
        }
        probe(what, file.toAbsolutePath().getParent());
    }

    private static void probe(String what, Path dir) throws IOException {
        Path probe;
        try {
            probe = Files.createTempFile(dir, ".magma-", ".probe");
        } catch (IOException e) {
            throw new IOException(what + ": cannot create files in " + dir + ": " + reason(e), e);
        }
        Files.deleteIfExists(probe);
    }

    /** The operating system's words for what went wrong (strerror's, as the JDK reports the rest). */
    static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return switch (e) {
            case AccessDeniedException a -> "Permission denied";
            case NoSuchFileException n -> "No such file or directory";
            case FileAlreadyExistsException x -> "File exists";
            case NotDirectoryException n -> "Not a directory";
            case DirectoryNotEmptyException d -> "Directory not empty";
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }
}
