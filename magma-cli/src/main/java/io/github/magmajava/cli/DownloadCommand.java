package io.github.magmajava.cli;

import io.github.magmajava.download.Downloader;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Download a checkpoint: resumed where an earlier try stopped, checked, renamed into place when complete."
                + " The file's path is the last line of stdout; progress goes to stderr. See docs/download.md."})
final class DownloadCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "URL", converter = OptionValues.HttpUrl.class, defaultValue = Downloader.OFFICIAL_CHECKPOINT,
            description = "An http(s) URL (default: the official MAGMA checkpoint, ${DEFAULT-VALUE}).")
    URI url;

    @Option(names = "--to", paramLabel = "DIR", description = "Download into DIR (default: the URL's folder in the cache directory"
            + " ($MAGMA_CACHE_DIR, default ~/.cache/magma-java), where generate and bench --checkpoint URL look).")
    Path to;

    @Option(names = "--sha256", paramLabel = "HEX", converter = OptionValues.Sha256.class,
            description = "The file's expected SHA-256 (64 hex digits); a file that differs is deleted and the command fails.")
    String sha256;

    @Override
    public Integer call() throws Exception {
        Path file;
        if (to != null) {
            OutputPaths.directory("--to", to);
            file = CheckpointSource.download(url, to, sha256, spec.commandLine().getErr());
        } else {
            file = CheckpointSource.fetch(url, sha256, spec.commandLine().getErr());
        }
        CliOutput.out(spec).println(file.toAbsolutePath());
        return 0;
    }
}
