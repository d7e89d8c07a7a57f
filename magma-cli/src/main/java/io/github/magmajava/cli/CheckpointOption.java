package io.github.magmajava.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --checkpoint FILE|URL}, optional: the model {@code generate} and {@code chat} load (a picocli mixin). */
final class CheckpointOption {
    @Option(names = "--checkpoint", paramLabel = "FILE|URL", description = "The MAGMA checkpoint (torch.save .pt or .safetensors): a"
            + " path, or an http(s) URL downloaded into the cache directory once. Default: the official MAGMA checkpoint,"
            + " downloaded on first use.")
    String value;

    /** The local file: downloaded first when a URL or omitted ({@link CheckpointSource}), progress on {@code err}. */
    Path resolve(PrintWriter err) throws IOException {
        return CheckpointSource.resolve(value, err);
    }
}
