package io.github.magmajava.spark;

import io.github.magmajava.ImageInput;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A row's image: its encoded bytes (a binary column, as Spark's {@code binaryFile} source reads
 * them) or a path string read through Hadoop's file systems (local, HDFS, S3, ... as configured),
 * refused above a size limit before anything is read.
 */
final class ImageCell {
    private ImageCell() {
    }

    /** A bad row: its message goes to the error column, the job goes on. */
    static final class RowException extends Exception {
        RowException(String message) {
            super(message);
        }
    }

    /** The image of a binary cell named {@code source}. */
    static ImageInput bytes(byte[] content, String source, long maxBytes) throws RowException {
        if (content.length > maxBytes) {
            throw new RowException("image " + source + " is " + content.length + " bytes, more than maxImageBytes (" + maxBytes + ")");
        }
        return ImageInput.bytes(content, source);
    }

    /** The image at {@code path}, read whole after its length is checked. */
    static ImageInput file(String path, Configuration hadoop, long maxBytes) throws RowException {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(hadoop);
            FileStatus status = fs.getFileStatus(p);
            if (status.isDirectory()) {
                throw new RowException("image " + path + " is a directory");
            }
            long length = status.getLen();
            if (length > maxBytes) {
                throw new RowException("image " + path + " is " + length + " bytes, more than maxImageBytes (" + maxBytes + ")");
            }
            byte[] content = new byte[(int) length];
            try (InputStream in = fs.open(p)) {
                int n = in.readNBytes(content, 0, content.length);
                if (n != length || in.read() != -1) {
                    throw new RowException("image " + path + " changed while it was read (" + length + " bytes listed, "
                            + (n != length ? n : "more") + " read)");
                }
            }
            return ImageInput.bytes(content, path);
        } catch (FileNotFoundException e) {
            throw new RowException("image " + path + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            throw new RowException("image " + path + " cannot be read: " + e.getMessage());
        }
    }
}
