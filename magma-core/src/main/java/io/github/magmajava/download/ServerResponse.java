package io.github.magmajava.download;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A response whose headers have arrived and whose body has not been read yet; {@code url} is where it came from. */
record ServerResponse(URI url, HttpResponse<InputStream> http) {
    /** {@code bytes FIRST-LAST/TOTAL}; TOTAL -1 when the server wrote {@code *}. */
    record ContentRange(long first, long last, long total) {
        private static final Pattern FORMAT = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

        static ContentRange parse(String value) {
            Matcher m = value == null ? null : FORMAT.matcher(value.strip());
            if (m == null || !m.matches()) {
                return null;
            }
            try {
                return new ContentRange(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                        m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3)));
            } catch (NumberFormatException tooLong) {
                return null;
            }
        }
    }

    private static final Pattern EXTENDED_NAME = Pattern.compile("(?i)filename\\*\\s*=\\s*([^']*)'[^']*'([^;\\s]+)");
    private static final Pattern NAME = Pattern.compile("(?i)(?:^|;)\\s*filename\\s*=\\s*(?:\"((?:[^\"\\\\]|\\\\.)*)\"|([^;\\s]+))");

    int status() {
        return http.statusCode();
    }

    String header(String name) {
        return http.headers().firstValue(name).orElse(null);
    }

    String etag() {
        return header("ETag");
    }

    String lastModified() {
        return header("Last-Modified");
    }

    long contentLength() {
        return http.headers().firstValueAsLong("Content-Length").orElse(-1);
    }

    ContentRange contentRange() {
        return ContentRange.parse(header("Content-Range"));
    }

    boolean isHtml() {
        String type = header("Content-Type");
        return type != null && type.strip().toLowerCase(Locale.ROOT).startsWith("text/html");
    }

    String fileName() {
        return fileName(url, header("Content-Disposition"));
    }

    InputStream body() {
        return http.body();
    }

    /** Drops the body unread (closing it cancels the transfer). */
    void discard() {
        try {
            http.body().close();
        } catch (IOException ignored) {
            // nothing more to read from it either way
        }
    }

    /**
     * The name to save a body under: Content-Disposition's {@code filename*} or {@code filename},
     * else the last segment of the URL's path; reduced to letters, digits and {@code ._+-} (no
     * directories, no leading dot), {@code download} when nothing is left.
     */
    static String fileName(URI url, String contentDisposition) {
        String name = null;
        if (contentDisposition != null) {
            Matcher extended = EXTENDED_NAME.matcher(contentDisposition);
            Matcher plain = NAME.matcher(contentDisposition);
            if (extended.find()) {
                name = decode(extended.group(2), charset(extended.group(1)));
            } else if (plain.find()) {
                name = plain.group(1) != null ? plain.group(1).replaceAll("\\\\(.)", "$1") : plain.group(2);
            }
        }
        if (name == null || name.isBlank()) {
            String path = url.getRawPath() == null ? "" : url.getRawPath();
            name = decode(path.substring(path.lastIndexOf('/') + 1), StandardCharsets.UTF_8);
        }
        name = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1)
                .replaceAll("[^A-Za-z0-9._+-]", "_").replaceFirst("^\\.+", "");
        if (name.length() > 200) {
            name = name.substring(name.length() - 200);
        }
        return name.isEmpty() ? "download" : name;
    }

    private static String decode(String value, Charset charset) {
        try {
            return URLDecoder.decode(value.replace("+", "%2B"), charset);
        } catch (IllegalArgumentException malformed) {
            return value;
        }
    }

    private static Charset charset(String name) {
        try {
            return Charset.forName(name.strip());
        } catch (IllegalArgumentException unknown) {
            return StandardCharsets.UTF_8;
        }
    }
}
