package io.github.magmajava.serve;

import io.github.magmajava.ImageInput;
import io.github.magmajava.ImageSession;
import io.github.magmajava.Magma;
import io.github.magmajava.image.ClipPreprocessor;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The image sessions of the last {@code capacity} images, by the SHA-256 of their bytes: a
 * follow-up question, or another client asking about the same picture, reuses the image's prefix
 * (its encoding and its positions' keys and values) instead of computing it again. Least recently
 * used images leave first; a session still answering keeps its prefix until it is done.
 */
final class ImagePrefixCache {
    private final Magma magma;
    private final ClipPreprocessor preprocessor;
    private final int capacity;
    private final Map<String, ImageSession> sessions;
    private long hits;
    private long misses;

    ImagePrefixCache(Magma magma, long maxPixels, int capacity) {
        this.magma = magma;
        this.preprocessor = ClipPreprocessor.of(magma.config().visual().imageResolution()).withPixelLimit(maxPixels);
        this.capacity = capacity;
        this.sessions = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** The cached session and whether it was found: a miss decodes the image now (bad images fail here). */
    record Found(ImageSession session, boolean hit) {
    }

    Found session(byte[] image, String sourceName) throws IOException {
        String key = sha256(image);
        synchronized (this) {
            ImageSession cached = sessions.get(key);
            if (cached != null) {
                hits++;
                return new Found(cached, true);
            }
            misses++;
        }
        ImageSession session = magma.session(ImageInput.preprocessed(preprocessor.preprocess(image, sourceName)));
        if (capacity == 0) {
            return new Found(session, false);
        }
        synchronized (this) {
            ImageSession raced = sessions.putIfAbsent(key, session);
            while (sessions.size() > capacity) {
                // Dropping the map's reference is enough: a session in use keeps its prefix alive.
                sessions.remove(sessions.keySet().iterator().next());
            }
            return new Found(raced != null ? raced : session, false);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
