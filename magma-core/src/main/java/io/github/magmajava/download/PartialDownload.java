package io.github.magmajava.download;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.magmajava.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The sidecar of an unfinished download: {@code NAME.part} holds the first bytes of {@code url}'s
 * body, and {@code NAME.part.json} this record, the server's description of that body (its
 * validators and its length, -1 when unknown). A later attempt, in this process or the next, asks
 * for the rest only with a validator ({@code If-Range}), so that a file changed on the server is
 * fetched again from its first byte instead of being spliced onto the old one.
 */
record PartialDownload(String url, String etag, String lastModified, long total) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path partFile(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    static Path sidecarFile(Path target) {
        return target.resolveSibling(target.getFileName() + ".part.json");
    }

    /** The sidecar of {@code target}'s part; null when either file is missing or the sidecar does not parse. */
    static PartialDownload read(Path target) {
        if (!Files.isRegularFile(partFile(target))) {
            return null;
        }
        try {
            return JSON.readValue(sidecarFile(target).toFile(), PartialDownload.class);
        } catch (IOException unreadable) {
            return null;
        }
    }

    /** Writes the sidecar of {@code target}, whole or not at all. */
    void write(Path target) throws IOException {
        Path sidecar = sidecarFile(target);
        Path temp = Files.createTempFile(sidecar.toAbsolutePath().getParent(), "." + sidecar.getFileName() + ".", ".tmp");
        AtomicFiles.write(temp, sidecar, t -> JSON.writeValue(t.toFile(), this), StandardCopyOption.REPLACE_EXISTING);
    }

    /** Removes {@code target}'s part and sidecar. */
    static void delete(Path target) throws IOException {
        Files.deleteIfExists(partFile(target));
        Files.deleteIfExists(sidecarFile(target));
    }

    /** The validator for {@code If-Range}: a strong ETag, else Last-Modified; null when the server gave neither. */
    String ifRange() {
        if (etag != null && !etag.startsWith("W/")) {
            return etag;
        }
        return lastModified;
    }

    /** True when the server describes its file as it did when the part was started. */
    boolean sameFile(String etag, String lastModified, long total) {
        return (this.etag == null || this.etag.equals(etag)) && (this.lastModified == null || this.lastModified.equals(lastModified))
                && this.total == total;
    }
}
