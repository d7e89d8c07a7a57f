package io.github.magmajava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.CapturedTensors;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.io.Npy;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

    @Option(names = "--checkpoint", paramLabel = "FILE|URL", description = "The MAGMA checkpoint (torch.save .pt or .safetensors): a path,"
            + " or an http(s) URL downloaded into the cache directory once. Default: the official MAGMA checkpoint, downloaded on first use.")
    String checkpoint;

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

    @Option(names = "--json", description = "Print {\"text\", \"tokens\", \"promptTokens\", \"timings\"} instead of streaming.")
    boolean json;

    @Option(names = "--dump-dir", description = "Write image.npy, image_embeddings.npy and logits.npy (float32) here.")
    Path dumpDir;

    @Override
    public Integer call() throws Exception {
        CliOutput out = CliOutput.out(spec);
        if (dumpDir != null) {
            OutputPaths.directory("--dump-dir", dumpDir);
        }
        SamplingOptions options = sampling.toOptions();
        Path checkpoint = CheckpointSource.resolve(this.checkpoint, spec.commandLine().getErr());
        Magma.Builder builder = Magma.builder(checkpoint);
        if (config != null) {
            builder.config(config.resolve());
        }
        compute.applyTo(builder, spec);
        if (compute.weights == WeightFormat.Q8 && Files.isRegularFile(checkpoint) && !Q8Cache.isCurrent(checkpoint, CacheDirectory.resolve())) {
            spec.commandLine().getErr().println("int8 weights: quantizing " + checkpoint + " into "
                    + Q8Cache.file(checkpoint, CacheDirectory.resolve()) + " (first use only)");
        }
        try (Magma magma = builder.load()) {
            GenerationRequest request = new GenerationRequest(ImageInput.file(image), prompt, options, dumpDir != null);
            // A failed write throws out of the listener, which ends the generation (TokenListener).
            TokenListener stream = json ? TokenListener.NONE : (id, piece) -> {
                out.print(piece);
                out.flushOrThrow();
            };
            Generation g = magma.generate(request, stream);
            if (json) {
                out.println(toJson(g, magma));
            } else {
                out.println();
            }
            if (dumpDir != null) {
                dump(g.tensors().orElseThrow(), magma.config());
            }
        }
        return 0;
    }

    private String toJson(Generation g, Magma magma) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("text", g.text());
        ArrayNode tokens = root.putArray("tokens");
        for (int t : g.tokens()) {
            tokens.add(t);
        }
        root.put("promptTokens", g.promptTokens());
        root.put("imageTokens", magma.config().visual().imageTokens());
        root.put("stopReason", g.stopReason().name());
        ObjectNode t = root.putObject("timings");
        t.put("loadSeconds", seconds(magma.loadTime()));
        t.put("preprocessSeconds", seconds(g.timings().preprocess()));
        t.put("imageEncodeSeconds", seconds(g.timings().imageEncode()));
        t.put("prefillSeconds", seconds(g.timings().prefill()));
        t.put("decodeSeconds", seconds(g.timings().decode()));
        t.put("decodeSteps", g.timings().decodeSteps());
        t.put("timeToFirstTokenSeconds", seconds(g.timings().timeToFirstToken()));
        t.put("totalSeconds", seconds(g.timings().total()));
        t.put("decodeTokensPerSecond", g.timings().decodeTokensPerSecond());
        return mapper.writeValueAsString(root);
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
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
