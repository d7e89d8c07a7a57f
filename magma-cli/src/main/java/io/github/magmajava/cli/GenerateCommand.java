package io.github.magmajava.cli;

import io.github.magmajava.CapturedTensors;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.convert.CheckpointConverter;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.io.Npy;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Answer a prompt about an image. The text streams to stdout as it is generated.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CheckpointOption checkpoint;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Option(names = "--image", required = true, description = "PNG, JPEG, GIF or BMP.")
    Path image;

    @Option(names = "--prompt", required = true, description = "The text after the image, e.g. \"Describe the painting:\".")
    String prompt;

    @Mixin
    SamplingArgs sampling;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--json", description = "Print {\"text\", \"tokens\", \"promptTokens\", \"prefillTokens\", \"timings\"} instead of streaming.")
    boolean json;

    @Option(names = "--quiet", description = "No progress line on a terminal's stderr (loading, encoding, reading the prompt).")
    boolean quiet;

    @Option(names = "--dump-dir", description = "Write image.npy, image_embeddings.npy and logits.npy (float32) here.")
    Path dumpDir;

    @Override
    public Integer call() throws Exception {
        CliOutput out = CliOutput.out(spec);
        if (dumpDir != null) {
            OutputPaths.directory("--dump-dir", dumpDir);
        }
        SamplingOptions options = sampling.toOptions();
        Path checkpoint = this.checkpoint.resolve(spec.commandLine().getErr());
        Magma.Builder builder = Magma.builder(checkpoint);
        if (config != null) {
            builder.config(config.resolve());
        }
        compute.applyTo(builder, spec);
        if (compute.format.weights == WeightFormat.Q8 && Files.isRegularFile(checkpoint) && !Q8Cache.isCurrent(checkpoint, CacheDirectory.resolve())
                && !CheckpointConverter.holdsInt8(checkpoint)) {
            spec.commandLine().getErr().println("int8 weights: quantizing " + checkpoint + " into "
                    + Q8Cache.file(checkpoint, CacheDirectory.resolve()) + " (first use only)");
        }
        try (StatusLine status = StatusLine.open(quiet)) {
            status.show("loading " + checkpoint.getFileName());
            try (Magma magma = builder.load()) {
                GenerationRequest request = new GenerationRequest(ImageInput.file(image), prompt, options, dumpDir != null);
                // A failed write throws out of the listener, which ends the generation (TokenListener).
                TokenListener stream = status.around(json ? TokenListener.NONE : (id, piece) -> {
                    out.print(piece);
                    out.flushOrThrow();
                });
                status.show("preparing the image");
                Generation g = magma.generate(request, stream);
                status.clear();
                if (json) {
                    out.println(toJson(g, magma));
                } else {
                    out.println();
                }
                if (dumpDir != null) {
                    dump(g.tensors().orElseThrow(), magma.config());
                }
            }
        }
        return 0;
    }

    private static String toJson(Generation g, Magma magma) throws Exception {
        return CliJson.generation(g, magma).toString();
    }

    /** Each file is written atomically (Npy.write); the directory was checked before the run. */
    private void dump(CapturedTensors c, MagmaConfig config) throws Exception {
        int s = c.imageSize();
        Npy.write(dumpDir.resolve("image.npy"), new long[] {1, 3, s, s}, c.image());
        Npy.write(dumpDir.resolve("image_embeddings.npy"), new long[] {1, c.imageTokens(), c.hiddenSize()}, c.imageEmbeddings());
        List<float[]> rows = c.logits();
        int vocab = config.transformer().vocabSize();
        float[] logits = new float[rows.size() * vocab];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, logits, i * vocab, vocab);
        }
        Npy.write(dumpDir.resolve("logits.npy"), new long[] {rows.size(), vocab}, logits);
    }
}
