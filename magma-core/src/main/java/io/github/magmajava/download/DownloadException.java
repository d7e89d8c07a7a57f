package io.github.magmajava.download;

import java.io.IOException;
import java.net.ConnectException;
import java.nio.channels.UnresolvedAddressException;

/**
 * A download that failed for good, in one line that names the URL or the file, what went wrong
 * and, where there is one, what to do about it. Nothing is left at the final path.
 */
public final class DownloadException extends IOException {
    private final boolean retryable;

    DownloadException(String message) {
        this(message, null, false);
    }

    DownloadException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private DownloadException(String message, Throwable cause, boolean retryable) {
        super(message, cause);
        this.retryable = retryable;
    }

    /** An HTTP status that ends the request: 408, 429 and 5xx may pass, and are tried again. */
    static DownloadException status(String request, int status) {
        boolean retryable = status == 408 || status == 429 || status >= 500;
        String hint = switch (status) {
            case 401, 403 -> " (access denied: the link may need a login or may have expired)";
            case 404, 410 -> " (not found: check the URL)";
            default -> "";
        };
        return new DownloadException(request + ": HTTP " + status + hint, null, retryable);
    }

    /** True when a later attempt may succeed (the server was busy or failing). */
    boolean retryable() {
        return retryable;
    }

    /**
     * A failure in words: its type (unless plain IOException or DownloadException) and the first
     * message along its causes; HttpClient's connection errors have none, and are named here.
     */
    public static String describe(IOException e) {
        String message = null;
        boolean unresolved = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (message == null && t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
            unresolved |= t instanceof UnresolvedAddressException;
        }
        if (message == null && unresolved) {
            return "unknown host";
        }
        if (message == null && e instanceof ConnectException) {
            return "cannot connect";
        }
        if ((e.getClass() == IOException.class || e instanceof DownloadException) && message != null) {
            return message;
        }
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
