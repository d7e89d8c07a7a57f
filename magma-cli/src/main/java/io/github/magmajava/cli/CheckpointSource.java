package io.github.magmajava.cli;

import io.github.magmajava.download.DownloadCache;
import io.github.magmajava.download.DownloadOptions;
import io.github.magmajava.download.Downloader;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;

/**
 * A {@code --checkpoint} value as a local file: an {@code http(s)://} URL is downloaded into its
 * own folder of the cache directory (once: later runs find the file there without asking the
 * server), anything else is a path; no value means the official MAGMA checkpoint, downloaded the
 * same way on first use. Progress goes to standard error ({@link DownloadProgress}).
 */
final class CheckpointSource {
    private CheckpointSource() {
    }

    /** The file {@code value} (null: the official checkpoint) stands for, downloaded first where needed. */
    static Path resolve(String value, PrintWriter err) throws IOException {
        if (value == null) {
            URI official = URI.create(Downloader.OFFICIAL_CHECKPOINT);
            if (DownloadCache.cached(official) == null) {
                err.println("magma: no --checkpoint given: downloading the official MAGMA checkpoint (" + official + ") into "
                        + DownloadCache.folder(official) + " (first use only)");
            }
            return fetch(official, null, err);
        }
        if (isUrl(value)) {
            return fetch(url(value), null, err);
        }
        return Path.of(value);
    }

    /** True for an {@code http://} or {@code https://} value ({@link Downloader#isHttpUrl}). */
    static boolean isUrl(String value) {
        return Downloader.isHttpUrl(value);
    }

    /** {@code value} as an http(s) URL. @throws IllegalArgumentException when it is not one */
    static URI url(String value) {
        URI url;
        try {
            url = new URI(value.strip());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("'" + value + "' is not a URL: " + e.getMessage(), e);
        }
        if (!isUrl(url.toString()) || url.getHost() == null) {
            throw new IllegalArgumentException("'" + value + "' is not an http(s) URL with a host");
        }
        return url;
    }

    /**
     * The file of {@code url} in its cache folder ({@link DownloadCache#fetch}): the one found
     * there, unless a SHA-256 is to be checked, else downloaded (or resumed), progress on {@code err}.
     */
    static Path fetch(URI url, String sha256, PrintWriter err) throws IOException {
        return withProgress(err, options -> DownloadCache.fetch(url, options.withSha256(sha256)));
    }

    /** Downloads {@code url} into {@code dir} (checked against {@code sha256} unless null), progress on {@code err}. */
    static Path download(URI url, Path dir, String sha256, PrintWriter err) throws IOException {
        return withProgress(err, options -> new Downloader(options.withDirectory(dir).withSha256(sha256)).download(url));
    }

    private interface Fetch {
        Path run(DownloadOptions options) throws IOException;
    }

    /** {@code fetch} with the default options drawing their progress on {@code err}, the line finished however it ends. */
    private static Path withProgress(PrintWriter err, Fetch fetch) throws IOException {
        DownloadProgress progress = DownloadProgress.forStderr(err);
        try {
            return fetch.run(DownloadOptions.defaults().withListener(progress));
        } finally {
            progress.finish();
        }
    }
}
