package io.github.magmajava.download;

import io.github.magmajava.io.CacheDirectory;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Downloads kept in the cache directory, a folder per URL, so that a URL is fetched once and found
 * again without asking the server (what {@code --checkpoint URL} and {@code Magma.load(URI)} use).
 */
public final class DownloadCache {
    private DownloadCache() {
    }

    /**
     * {@code url}'s file: the finished download in its folder, else downloaded (or resumed) there
     * with {@code options} (whose directory is replaced by the folder).
     */
    public static Path fetch(URI url, DownloadOptions options) throws IOException {
        Path found = options.sha256() == null ? cached(url) : null;
        return found != null ? found : new Downloader(options.withDirectory(folder(url))).download(url);
    }

    /**
     * Where {@code url} is downloaded by default: {@code <cache>/downloads/<16 hex digits of the
     * URL's SHA-256>}, a folder per URL, so that two URLs whose files share a name stay apart.
     */
    public static Path folder(URI url) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(url.toString().getBytes(StandardCharsets.UTF_8));
            return CacheDirectory.resolve().resolve("downloads").resolve(HexFormat.of().formatHex(hash, 0, 8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * The finished download in {@code url}'s folder, null when there is none (or several). A
     * downloader renames a file into place only when it is complete, so any regular file there
     * other than its own ({@code NAME.part}, {@code NAME.part.json}, hidden lock files) is one.
     */
    public static Path cached(URI url) throws IOException {
        Path dir = folder(url);
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> done = files.filter(Files::isRegularFile).filter(f -> {
                String name = f.getFileName().toString();
                return !name.startsWith(".") && !name.endsWith(".part") && !name.endsWith(".part.json");
            }).toList();
            return done.size() == 1 ? done.get(0) : null;
        }
    }
}
