package io.github.magmajava.download;

import io.github.magmajava.io.WriteLock;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.CookieManager;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * Downloads a file over HTTP(S) into a directory, whole or not at all. The body goes to
 * {@code NAME.part} with a sidecar ({@link PartialDownload}); an interrupted transfer resumes
 * with {@code Range}/{@code If-Range}, in this process after a transient failure (a dropped
 * connection, 408, 429, 5xx; exponential backoff) or in the next one; a server that ignores the
 * range or whose file changed is read again from the first byte. The length and, when given, the
 * SHA-256 are checked before the part is renamed to {@code NAME} in one step, so nothing is ever
 * at the final path unless it is complete and verified. One writer per file across threads and
 * processes ({@link WriteLock}): a second waits, then finds the finished file. Redirects are
 * followed (at most {@value #MAX_REDIRECTS}, https to http included); the name is the one
 * Content-Disposition gives, else the final URL's last path segment. Proxies: Java's proxy
 * properties, else the environment's ({@link ProxyFromEnvironment}). See docs/download.md.
 */
public final class Downloader {
    /** The MAGMA checkpoint that Aleph Alpha's README links to. */
    public static final String OFFICIAL_CHECKPOINT = "https://bit.ly/aleph_alpha_magma_download";
    static final int MAX_REDIRECTS = 10;
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);
    private static final String USER_AGENT = "magma-java";
    private static final int BUFFER_BYTES = 1 << 16;
    /** Bytes of a body's start looked at for an HTML page. */
    private static final int HEAD_BYTES = 64;
    private static final long PROGRESS_NANOS = 100_000_000L;

    private final DownloadOptions options;
    private final ProxySelector proxies;
    /** Hosts whose HTML answers are read as Google Drive confirmation pages (tests add the loopback). */
    private final Predicate<URI> drive;

    /** With the process's proxy settings. @throws IllegalArgumentException when a proxy variable is malformed */
    public Downloader(DownloadOptions options) {
        this(options, ProxyFromEnvironment.fromSystem());
    }

    Downloader(DownloadOptions options, ProxySelector proxies) {
        this(options, proxies, DriveConfirmation::isDrive);
    }

    Downloader(DownloadOptions options, ProxySelector proxies, Predicate<URI> drive) {
        this.options = options;
        this.proxies = proxies;
        this.drive = drive;
    }

    public DownloadOptions options() {
        return options;
    }

    /**
     * The file at {@code url}, in the options' directory: returned at once when it is already
     * there (and matches the SHA-256, when one is given), else downloaded or resumed.
     *
     * @throws DownloadException     when the server refuses, answers an HTML page, the file is too large
     *                               for the disk, fails its check, or cannot be written; and when
     *                               every attempt failed
     * @throws InterruptedIOException when the thread is interrupted
     */
    public Path download(URI url) throws IOException {
        if (!isHttp(url)) {
            throw new DownloadException(url + ": not an http(s) URL");
        }
        Path dir = options.directory();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DownloadException(dir + ": cannot create the download directory (" + e + ")", e);
        }
        // Cookies: Drive's older confirmation pages check a cookie they set.
        HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).cookieHandler(new CookieManager())
                .connectTimeout(options.connectTimeout()).proxy(proxies).build();
        try {
            Retries retries = new Retries(url, options);
            ServerResponse first = retries.run(() -> send(client, url, null));
            Path target = dir.resolve(first.fileName());
            WriteLock free = WriteLock.tryAcquire(target, "the download");
            if (free == null) {
                // The other writer may take long: this response would go stale meanwhile.
                first.discard();
                first = null;
                options.listener().waiting(target);
            }
            try (WriteLock lock = free != null ? free : WriteLock.acquire(target, "the download")) {
                if (isComplete(target)) {
                    if (first != null) {
                        first.discard();
                    }
                    return target;
                }
                AtomicReference<ServerResponse> unread = new AtomicReference<>(first);
                return retries.run(() -> fetch(client, url, target, unread.getAndSet(null)));
            }
        } finally {
            client.shutdownNow();
        }
    }

    /** Where a part may resume: at byte {@code from} of the file its sidecar describes. */
    private record Resume(PartialDownload part, long from) {
    }

    /**
     * One attempt at {@code target}'s missing bytes: resumed when its part allows, else from the
     * first byte, on {@code unread} when there is one (the response that named the file).
     */
    private Path fetch(HttpClient client, URI url, Path target, ServerResponse unread) throws IOException {
        Resume resume = resumable(url, target);
        ServerResponse response;
        if (resume == null) {
            response = unread != null ? unread : send(client, url, null);
        } else {
            if (unread != null) {
                unread.discard();
            }
            response = send(client, url, resume);
            if (response.status() != 200 && !continues(resume, response)) {
                // Another file now (validators, length), or a range that starts elsewhere: start over.
                response.discard();
                response = send(client, url, null);
            }
        }
        return receive(response, url, target, response.status() == 206 ? resume.from() : 0);
    }

    /** The part of {@code target} when it can be continued: same URL, a validator, fewer bytes than the whole. */
    private static Resume resumable(URI url, Path target) throws IOException {
        PartialDownload part = PartialDownload.read(target);
        if (part == null || !part.url().equals(url.toString()) || part.ifRange() == null) {
            return null;
        }
        long bytes = Files.size(PartialDownload.partFile(target));
        return bytes > 0 && (part.total() < 0 || bytes < part.total()) ? new Resume(part, bytes) : null;
    }

    private static boolean continues(Resume resume, ServerResponse response) {
        ServerResponse.ContentRange range = response.contentRange();
        return response.status() == 206 && range != null && range.first() == resume.from()
                && resume.part().sameFile(response.etag(), response.lastModified(), range.total());
    }

    /**
     * GET {@code url}, following redirects, with {@code Range} and {@code If-Range} when resuming.
     * Returns a 200, or (when resuming) a 206 or 416; refuses anything else.
     */
    private ServerResponse send(HttpClient client, URI url, Resume resume) throws IOException {
        URI current = url;
        for (int hops = 0; ; hops++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current).timeout(options.readTimeout()).header("User-Agent", USER_AGENT);
            if (resume != null) {
                request.header("Range", "bytes=" + resume.from() + "-").header("If-Range", resume.part().ifRange());
            }
            ServerResponse response;
            try {
                response = new ServerResponse(current, client.send(request.build(), BodyHandlers.ofInputStream()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while downloading " + url);
            }
            String from = url.equals(current) ? "GET " + url : "GET " + url + " (redirected to " + current + ")";
            int status = response.status();
            if (REDIRECTS.contains(status)) {
                response.discard();
                String location = response.header("Location");
                if (location == null) {
                    throw new DownloadException(from + ": HTTP " + status + " without a Location");
                }
                if (hops == MAX_REDIRECTS) {
                    throw new DownloadException(from + ": more than " + MAX_REDIRECTS + " redirects");
                }
                current = redirect(current, location, from);
                continue;
            }
            if (status == 200 && response.isHtml() && drive.test(current) && hops < MAX_REDIRECTS) {
                // Google Drive's "too large to scan" page: follow its confirmation like a redirect.
                byte[] page;
                try (InputStream body = response.body()) {
                    page = body.readNBytes(DriveConfirmation.MAX_PAGE_BYTES);
                }
                URI confirmed = DriveConfirmation.of(current, new String(page, StandardCharsets.UTF_8)).orElse(null);
                if (confirmed == null) {
                    throw new DownloadException(from + ": Google Drive answered an HTML page without a download to confirm (a"
                            + " private file, or a quota reached): download it in a browser and pass the file");
                }
                current = redirect(current, confirmed.toString(), from);
                continue;
            }
            if (status == 200 || (resume != null && (status == 206 || status == 416))) {
                return response;
            }
            response.discard();
            throw DownloadException.status(from, status);
        }
    }

    private static URI redirect(URI current, String location, String from) throws DownloadException {
        URI next;
        try {
            // URI.resolve joins a relative reference badly onto an empty path ("http://host" + "x").
            URI base = current.getRawPath() == null || current.getRawPath().isEmpty() ? current.resolve("/") : current;
            next = base.resolve(location.strip());
        } catch (IllegalArgumentException e) {
            throw new DownloadException(from + ": redirected to a malformed URL '" + location + "'", e);
        }
        if (!isHttp(next)) {
            throw new DownloadException(from + ": redirected to " + next + ", not an http(s) URL");
        }
        return next;
    }

    /**
     * True for a value that names an {@code http://} or {@code https://} resource (any case, around
     * blanks): what a checkpoint option reads as a URL to download rather than a path.
     */
    public static boolean isHttpUrl(String value) {
        String lower = value.strip().toLowerCase(Locale.ROOT);
        return lower.startsWith("http://") || lower.startsWith("https://");
    }

    private static boolean isHttp(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        return (scheme.equals("http") || scheme.equals("https")) && url.getHost() != null;
    }

    /**
     * Writes {@code response}'s body into {@code target}'s part from byte {@code from}, then checks
     * it and renames it to {@code target}. Network failures go on as plain IOExceptions (worth
     * another attempt, which resumes); everything else is a {@link DownloadException}.
     */
    private Path receive(ServerResponse response, URI url, Path target, long from) throws IOException {
        Path part = PartialDownload.partFile(target);
        try (InputStream body = response.body(); StallWatchdog watchdog = new StallWatchdog(body, options.readTimeout())) {
            if (response.isHtml()) {
                throw htmlPage(url, response);
            }
            long total = from > 0 ? response.contentRange().total() : response.contentLength();
            checkSpace(url, target, from, total);
            byte[] head = from > 0 ? new byte[0] : readHead(body, watchdog);
            if (looksLikeHtml(head)) {
                throw htmlPage(url, response);
            }
            try {
                new PartialDownload(url.toString(), response.etag(), response.lastModified(), total).write(target);
            } catch (IOException e) {
                throw new DownloadException(PartialDownload.sidecarFile(target) + ": cannot write (" + e + ")", e);
            }
            MessageDigest digest = options.sha256() == null ? null : digestOf(part, from);
            options.listener().started(url, target, from, total);
            long length;
            try (FileChannel out = openPart(part, from)) {
                length = copy(url, head, body, watchdog, out, part, from, total, digest);
                try {
                    out.force(true);
                } catch (IOException e) {
                    throw new DownloadException(part + ": cannot write (" + e + ")", e);
                }
            }
            if (total >= 0 && length != total) {
                throw new IOException("the connection ended at byte " + length + " of " + total);
            }
            if (digest != null) {
                verify(url, target, HexFormat.of().formatHex(digest.digest()), length);
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Files.deleteIfExists(PartialDownload.sidecarFile(target));
            } catch (IOException e) {
                throw new DownloadException(part + ": cannot rename it to " + target + " (" + e + ")", e);
            }
            return target;
        }
    }

    private static DownloadException htmlPage(URI url, ServerResponse response) {
        return new DownloadException("GET " + url + ": the server answered an HTML page (from " + response.url()
                + "), not the file; file hosts answer large files with an interstitial page: download it in a browser and"
                + " pass the file, or pass the direct link");
    }

    private static boolean looksLikeHtml(byte[] head) {
        String start = new String(head, StandardCharsets.ISO_8859_1).replaceFirst("^(\u00ef\u00bb\u00bf)?\\s*", "")
                .toLowerCase(Locale.ROOT);
        return start.startsWith("<!doctype html") || start.startsWith("<html");
    }

    /** Refuses a body the directory cannot take; where the length is unknown, the disk will say. */
    private void checkSpace(URI url, Path target, long from, long total) throws IOException {
        if (total < 0) {
            return;
        }
        Path dir = target.toAbsolutePath().getParent();
        Path part = PartialDownload.partFile(target);
        // Starting over frees the old part.
        long free;
        try {
            free = options.freeSpace().usable(dir) + (from == 0 && Files.isRegularFile(part) ? Files.size(part) : 0);
        } catch (IOException e) {
            throw new DownloadException(dir + ": cannot tell its free space (" + e + ")", e);
        }
        long needed = total - from;
        if (free < needed) {
            throw new DownloadException(url + ": " + target.getFileName() + " needs " + needed + " more bytes, " + dir + " has "
                    + free + " free; free some space or download elsewhere");
        }
    }

    /** The body's first bytes, fewer only when it is shorter. */
    private static byte[] readHead(InputStream body, StallWatchdog watchdog) throws IOException {
        try {
            byte[] head = body.readNBytes(HEAD_BYTES);
            watchdog.check();
            watchdog.progressed();
            return head;
        } catch (IOException e) {
            watchdog.check();
            throw e;
        }
    }

    /** The SHA-256 state after the part's first {@code from} bytes (all it holds). */
    private static MessageDigest digestOf(Path part, long from) throws DownloadException {
        MessageDigest digest = sha256();
        if (from == 0) {
            return digest;
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(part), digest)) {
            long read = in.transferTo(OutputStream.nullOutputStream());
            if (read != from) {
                throw new IOException("it holds " + read + " bytes, not " + from);
            }
        } catch (IOException e) {
            throw new DownloadException(part + ": cannot read the part to resume (" + e + ")", e);
        }
        return digest;
    }

    /** The part, cut to its first {@code from} bytes, positioned after them. */
    private static FileChannel openPart(Path part, long from) throws DownloadException {
        FileChannel out = null;
        try {
            out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            out.truncate(from);
            out.position(from);
            return out;
        } catch (IOException e) {
            try {
                if (out != null) {
                    out.close();
                }
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new DownloadException(part + ": cannot write (" + e + ")", e);
        }
    }

    /** Writes {@code head}, then the rest of {@code body}; returns the part's length. */
    private long copy(URI url, byte[] head, InputStream body, StallWatchdog watchdog, FileChannel out, Path part, long from,
            long total, MessageDigest digest) throws IOException {
        ProgressListener listener = options.listener();
        long start = System.nanoTime();
        long reported = start;
        long position = from;
        byte[] buffer = new byte[BUFFER_BYTES];
        byte[] chunk = head;
        int n = head.length;
        while (n >= 0) {
            try {
                ByteBuffer bytes = ByteBuffer.wrap(chunk, 0, n);
                while (bytes.hasRemaining()) {
                    out.write(bytes);
                }
            } catch (IOException e) {
                throw new DownloadException(part + ": cannot write (" + e + ")", e);
            }
            if (digest != null) {
                digest.update(chunk, 0, n);
            }
            position += n;
            long now = System.nanoTime();
            if (now - reported >= PROGRESS_NANOS) {
                reported = now;
                listener.progress(position, total, rate(position - from, now - start));
            }
            chunk = buffer;
            try {
                n = body.read(buffer);
            } catch (IOException e) {
                watchdog.check();
                throw e;
            }
            watchdog.progressed();
        }
        watchdog.check();
        listener.progress(position, total, rate(position - from, System.nanoTime() - start));
        return position;
    }

    private static double rate(long bytes, long nanos) {
        return nanos <= 0 ? 0 : bytes * 1e9 / nanos;
    }

    /** Deletes the part (a wrong file is not resumed) and refuses it, unless its SHA-256 is the one expected. */
    private void verify(URI url, Path target, String actual, long length) throws IOException {
        if (actual.equals(options.sha256())) {
            return;
        }
        PartialDownload.delete(target);
        throw new DownloadException(url + ": SHA-256 mismatch for " + target.getFileName() + " (" + length + " bytes): expected "
                + options.sha256() + ", got " + actual + "; the download was deleted");
    }

    /** True when {@code target} exists and has the expected SHA-256, if one is given. */
    private boolean isComplete(Path target) throws IOException {
        if (!Files.isRegularFile(target)) {
            return false;
        }
        if (options.sha256() == null) {
            return true;
        }
        MessageDigest digest = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(target), digest)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new DownloadException(target + ": cannot read it to check its SHA-256 (" + e + ")", e);
        }
        return HexFormat.of().formatHex(digest.digest()).equals(options.sha256());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
