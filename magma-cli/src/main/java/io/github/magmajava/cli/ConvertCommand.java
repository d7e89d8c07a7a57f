package io.github.magmajava.cli;

import io.github.magmajava.convert.CheckpointConverter;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.quant.WeightFormat;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write a checkpoint (torch.save .pt or .safetensors) as one safetensors file that generate reads like it:"
                + " every tensor the model reads, bytes unchanged, the model config in its metadata (docs/convert.md).")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "The MAGMA checkpoint (torch.save .pt or .safetensors).")
    Path checkpoint;

    @Option(names = "--to", required = true, paramLabel = "OUT.safetensors",
            description = "The file to write: written whole beside it, then renamed into place; never the checkpoint itself.")
    Path to;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Option(names = "--weights", defaultValue = "fp16", converter = OptionValues.Weights.class,
            description = "fp16: every tensor as stored; q8: the language model's Linear weights as int8 blocks (half the file),"
                    + " copied from the q8 cache ($MAGMA_CACHE_DIR, default ~/.cache/magma-java), made there first if needed;"
                    + " generate then reads them as --weights q8 (default: ${DEFAULT-VALUE}).")
    WeightFormat weights;

    @Override
    public Integer call() throws Exception {
        OutputPaths.file("--to", to);
        CheckpointConverter.Converted c = CheckpointConverter.convert(checkpoint, to, weights,
                Optional.ofNullable(config).map(ConfigChoice::resolve), CacheDirectory.resolve());
        CliOutput out = CliOutput.out(spec);
        out.println("wrote " + c.file() + ": " + c.tensors() + " tensors, " + CliFormat.bytes(c.bytes()) + ", config "
                + c.config().name() + ", weights " + c.weights().cliName());
        c.q8Cache().ifPresent(cache -> out.println("int8 weights copied from the q8 cache " + cache
                + " (generate --weights q8 on the original reads it; delete it if that is no longer needed)"));
        return 0;
    }
}
