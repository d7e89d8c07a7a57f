package io.github.magmajava;

import io.github.magmajava.image.ClipPreprocessor;
import io.github.magmajava.image.ImageLoadException;
import io.github.magmajava.image.PreprocessedImage;
import java.nio.file.Path;
import java.util.Objects;

/** Where a request's image comes from: a file, encoded bytes, or an already preprocessed tensor. */
public sealed interface ImageInput {
    static ImageInput file(Path file) {
        return new File(file);
    }

    static ImageInput bytes(byte[] encoded, String sourceName) {
        return new Bytes(encoded.clone(), sourceName);
    }

    static ImageInput preprocessed(PreprocessedImage image) {
        return new Preprocessed(image);
    }

    /** The normalized [3, size, size] pixels this input gives at the model's resolution. */
    PreprocessedImage load(ClipPreprocessor preprocessor) throws ImageLoadException;

    record File(Path path) implements ImageInput {
        public File {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public PreprocessedImage load(ClipPreprocessor preprocessor) throws ImageLoadException {
            return preprocessor.preprocess(path);
        }
    }

    record Bytes(byte[] encoded, String sourceName) implements ImageInput {
        public Bytes {
            Objects.requireNonNull(encoded, "encoded");
            Objects.requireNonNull(sourceName, "sourceName");
        }

        @Override
        public PreprocessedImage load(ClipPreprocessor preprocessor) throws ImageLoadException {
            return preprocessor.preprocess(encoded, sourceName);
        }
    }

    record Preprocessed(PreprocessedImage image) implements ImageInput {
        public Preprocessed {
            Objects.requireNonNull(image, "image");
        }

        @Override
        public PreprocessedImage load(ClipPreprocessor preprocessor) {
            return image;
        }
    }
}
