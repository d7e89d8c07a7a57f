package io.github.magmajava.download;

import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Google Drive answers a file too large for its virus scan with an HTML page asking to confirm;
 * the official MAGMA link leads there. This reads the confirmed download's URL out of such a page,
 * in the three forms Drive has used: a {@code download-form} whose hidden inputs are the query, a
 * {@code /uc?export=download} link, or a bare {@code confirm=} token to add to the URL.
 */
final class DriveConfirmation {
    /** Most a confirmation page is read: they are a few kilobytes. */
    static final int MAX_PAGE_BYTES = 1 << 19;
    private static final Pattern FORM = Pattern.compile("(?is)<form([^>]*)>(.*?)</form>");
    private static final Pattern ACTION = Pattern.compile("(?i)action=\"([^\"]+)\"");
    private static final Pattern HIDDEN = Pattern.compile("(?is)<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"");
    private static final Pattern LINK = Pattern.compile("href=\"(/uc\\?export=download[^\"]+)\"");
    private static final Pattern TOKEN = Pattern.compile("confirm=([0-9A-Za-z_-]+)");

    private DriveConfirmation() {
    }

    /** Google Drive's hosts ({@code drive.google.com}, {@code docs.google.com}, {@code drive.usercontent.google.com}). */
    static boolean isDrive(URI url) {
        String host = url.getHost() == null ? "" : url.getHost().toLowerCase(Locale.ROOT);
        return host.equals("drive.google.com") || host.equals("docs.google.com") || host.equals("drive.usercontent.google.com");
    }

    /** The URL that confirms the download asked for on {@code page} (served at {@code pageUrl}); empty when the page is not one. */
    static Optional<URI> of(URI pageUrl, String page) {
        Matcher form = FORM.matcher(page);
        while (form.find()) {
            Matcher action = ACTION.matcher(form.group(1));
            if (!form.group(1).contains("id=\"download-form\"") || !action.find()) {
                continue;
            }
            StringJoiner query = new StringJoiner("&");
            Matcher input = HIDDEN.matcher(form.group(2));
            while (input.find()) {
                query.add(encode(unescape(input.group(1))) + "=" + encode(unescape(input.group(2))));
            }
            return Optional.of(pageUrl.resolve(unescape(action.group(1)) + "?" + query));
        }
        Matcher link = LINK.matcher(page);
        if (link.find()) {
            return Optional.of(pageUrl.resolve(unescape(link.group(1))));
        }
        Matcher token = TOKEN.matcher(page);
        if (token.find()) {
            String query = pageUrl.getRawQuery() == null ? "" : pageUrl.getRawQuery().replaceAll("(^|&)confirm=[^&]*", "");
            String joined = (query.isEmpty() ? "" : query + "&") + "confirm=" + token.group(1);
            return Optional.of(pageUrl.resolve(pageUrl.getRawPath() + "?" + joined.replaceFirst("^&", "")));
        }
        return Optional.empty();
    }

    private static String unescape(String html) {
        return html.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'");
    }

    private static String encode(String value) {
        return URLEncoder.encode(URLDecoder.decode(value, StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }
}
