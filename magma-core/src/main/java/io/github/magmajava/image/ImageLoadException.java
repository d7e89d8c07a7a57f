package io.github.magmajava.image;

import java.io.IOException;

/**
 * An image that cannot be used: unreadable, truncated or undecodable, in an unsupported format, of
 * zero size, or larger than the pixel limit. The message names the source (file or caller-given
 * name) and the fault.
 */
public class ImageLoadException extends IOException {
    private final String source;

    public ImageLoadException(String source, String fault) {
        super(source + ": " + fault);
        this.source = source;
    }

    public ImageLoadException(String source, String fault, Throwable cause) {
        super(source + ": " + fault, cause);
        this.source = source;
    }

    /** The file or name of the image at fault. */
    public String source() {
        return source;
    }
}
