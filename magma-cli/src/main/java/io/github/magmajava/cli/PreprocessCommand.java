package io.github.magmajava.cli;

import io.github.magmajava.image.ClipPreprocessor;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.io.Npy;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = "CLIP-preprocess an image (Pillow bicubic resize, center crop, normalize) into a float32 .npy [1,3,N,N].")
final class PreprocessCommand implements Callable<Integer> {
    @Option(names = "--image", required = true, description = "PNG, JPEG, GIF or BMP file.")
    Path image;

    @Option(names = "--size", converter = OptionValues.Positive.class, defaultValue = "384", description = "Output side N (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--out", required = true, description = "Where to write the .npy file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        OutputPaths.file("--out", out);
        PreprocessedImage p = ClipPreprocessor.of(size).preprocess(image);
        Npy.write(out, new long[] {1, 3, size, size}, p.pixels());
        return 0;
    }
}
