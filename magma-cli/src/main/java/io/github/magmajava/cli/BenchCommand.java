package io.github.magmajava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.magmajava.Generation;
import io.github.magmajava.GenerationRequest;
import io.github.magmajava.ImageInput;
import io.github.magmajava.ImageSession;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.backend.cpu.ReadBandwidth;
import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.image.PreprocessedImage;
import io.github.magmajava.ipu.ExecutionPlan;
import io.github.magmajava.ipu.IpuBackend;
import io.github.magmajava.ipu.Statistics;
import io.github.magmajava.io.CacheDirectory;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Cache;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.WeightFormat;
import io.github.magmajava.sampling.SamplingOptions;
import io.github.magmajava.weights.MagmaWeights;
import io.github.magmajava.weights.SyntheticCheckpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The seed's inference benchmark: a full-size synthetic checkpoint (random fp16, real shapes,
 * cached), timed stage by stage over warm-up and repeated runs, beside this machine's read
 * bandwidth.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time load, image encode, prefill and decode on a full-size synthetic checkpoint (made once, cached)."
                + " Default config: magma_v1_1024.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Option(names = "--checkpoint", paramLabel = "FILE|URL", description = "Benchmark this checkpoint instead of the synthetic one: a path,"
            + " or an http(s) URL downloaded into the cache directory once.")
    String checkpoint;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--prompt-tokens", converter = OptionValues.Positive.class, defaultValue = "16", description = "Text tokens after the image (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--new-tokens", converter = OptionValues.AtLeastTwo.class, defaultValue = "8", description = "Tokens to generate per run (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--warmup", converter = OptionValues.NonNegative.class, defaultValue = "1", description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--runs", converter = OptionValues.Positive.class, defaultValue = "3", description = "Timed runs; medians are reported (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--questions", paramLabel = "K", converter = OptionValues.NonNegative.class, defaultValue = "0",
            description = "Also ask K questions on one image session: time to first token of the first (which runs the"
                    + " image) against the follow-ups (which prefill only their prompt) (default: ${DEFAULT-VALUE}: skipped).")
    int questions;

    @Option(names = "--bandwidth-mib", converter = OptionValues.Positive.class, defaultValue = "2048",
            description = "Buffer for the read-bandwidth measurement, well above the caches (default: ${DEFAULT-VALUE}).")
    int bandwidthMiB;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        MagmaConfig model = config != null ? config.resolve() : MagmaConfig.MAGMA_V1_1024;
        int cores = compute.threadCount();
        Path file = checkpoint == null ? null : CheckpointSource.resolve(checkpoint, err);
        err.println("bench: measuring read bandwidth (the best of several thread counts, patterns and prefetch distances)...");
        ReadBandwidth.Result bandwidth = ReadBandwidth.probe((long) bandwidthMiB << 20, cores, 3);
        if (file == null) {
            err.println("bench: synthetic " + model.name() + " checkpoint in " + CacheDirectory.resolve()
                    + " (made on first use, ~" + CliFormat.bytes(weightBytes(MagmaWeights.expectedShapes(model), n -> true)) + ")...");
            file = SyntheticCheckpoint.ensure(model, CacheDirectory.resolve(), 0);
        }
        if (compute.format.weights == WeightFormat.Q8) {
            err.println("bench: int8 weights from " + Q8Cache.file(file, CacheDirectory.resolve()) + " (quantized on first use)...");
        }
        GenerationRequest request = new GenerationRequest(ImageInput.preprocessed(randomImage(model)),
                " the".repeat(promptTokens), SamplingOptions.defaults().withTemperature(0).withMaxNewTokens(newTokens), false);
        ObjectNode cpu = null;
        if (compute.backend == ComputeOptions.BackendKind.ipu) {
            // the CPU backend first, on the same checkpoint and options: the two side by side from one run
            cpu = measure(file, model, request, ComputeOptions.BackendKind.cpu, bandwidth, cores);
        }
        ObjectNode result = measure(file, model, request, compute.backend, bandwidth, cores);
        if (cpu != null) {
            result.set("cpu", cpu);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(result));
        }
        return 0;
    }

    /** Warm-up and timed runs of {@code request} on {@code kind}: its results, also printed unless --json. */
    private ObjectNode measure(Path file, MagmaConfig model, GenerationRequest request, ComputeOptions.BackendKind kind,
            ReadBandwidth.Result bandwidth, int cores) throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        try (Magma magma = compute.applyTo(Magma.builder(file).config(model), spec, kind).load()) {
            IpuBackend ipu = kind == ComputeOptions.BackendKind.ipu ? compute.lastIpuBackend : null;
            List<Generation> timed = new ArrayList<>();
            List<Statistics.Snapshot> phases = new ArrayList<>();
            Generation first = null;
            for (int i = 0; i < warmup + runs; i++) {
                err.println("bench: " + kind + " " + (i < warmup ? "warm-up" : "run") + " " + (i < warmup ? i + 1 : i - warmup + 1) + "...");
                if (ipu != null) {
                    ipu.resetStatistics();
                }
                Generation g = magma.generate(request, TokenListener.NONE);
                first = first == null ? g : first;
                if (i >= warmup) {
                    timed.add(g);
                    if (ipu != null) {
                        phases.add(ipu.statistics());
                    }
                }
            }
            err.println("bench: " + kind + " image encoder alone, " + ENCODER_RUNS + " times...");
            List<Double> encodes = new ArrayList<>();
            for (int i = 0; i < ENCODER_RUNS; i++) {
                long t0 = System.nanoTime();
                magma.encodeImage(request.image());
                encodes.add((System.nanoTime() - t0) / 1e9);
            }
            ObjectNode r = report(magma, kind, first, timed, encodes, bandwidth, cores);
            if (questions > 0) {
                reportSession(r, magma, request);
            }
            if (ipu != null) {
                reportPhases(r, ipu.plan(), phases, timed.get(0).timings().decodeSteps());
            }
            return r;
        }
    }

    /**
     * {@code --questions K} on one session: the first question's time to first token (image
     * encode and image positions included) against the median of the follow-ups'.
     */
    private void reportSession(ObjectNode r, Magma magma, GenerationRequest request) throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        List<Double> ttft = new ArrayList<>();
        try (ImageSession session = magma.session(request.image())) {
            for (int q = 0; q < questions; q++) {
                err.println("bench: session question " + (q + 1) + "...");
                ttft.add(seconds(session.ask(request.prompt(), request.options()).timings().timeToFirstToken()));
            }
        }
        List<Double> followUps = ttft.subList(1, ttft.size());
        double followUp = followUps.isEmpty() ? Double.NaN : median(followUps, t -> t);
        ObjectNode s = r.putObject("session");
        s.put("questions", questions).put("firstTimeToFirstTokenSeconds", ttft.get(0));
        if (!followUps.isEmpty()) {
            s.put("followUpTimeToFirstTokenSeconds", followUp).put("followUpRatio", followUp / ttft.get(0));
        }
        if (!json) {
            spec.commandLine().getOut().printf("  %-26s %10.2f s first, %.2f s follow-ups (median of %d, %.1f%% of the first)%n",
                    "session time to 1st token", ttft.get(0), followUp, followUps.size(), 100 * followUp / ttft.get(0));
        }
    }

    /**
     * The IPU backend's phases, averaged over the timed runs: time staging and computing, bytes
     * staged per token and all-reduces.
     */
    private void reportPhases(ObjectNode r, ExecutionPlan plan, List<Statistics.Snapshot> runs, int decodeSteps) {
        int layers = plan.phases().size() - 3;
        String[] groups = {"image prefix", "embedding", "blocks (" + layers + ")", "lm head"};
        double[][] seconds = new double[groups.length][2];
        long[] bytes = new long[groups.length];
        double allReduceSeconds = 0;
        long allReduces = 0;
        for (Statistics.Snapshot run : runs) {
            for (Statistics.PhaseTotals p : run.phases()) {
                int g = p.phase().equals("image prefix") ? 0 : p.phase().equals("embedding") ? 1 : p.phase().equals("lm head") ? 3 : 2;
                seconds[g][0] += seconds(p.staging()) / runs.size();
                seconds[g][1] += seconds(p.compute()) / runs.size();
                bytes[g] += p.stagedBytes() / runs.size();
            }
            allReduceSeconds += seconds(run.allReduceTime()) / runs.size();
            allReduces += run.allReduces() / runs.size();
        }
        ObjectNode ipu = r.putObject("ipu");
        ipu.put("devices", plan.devices()).put("device", plan.options().device().name())
                .put("sequenceMode", plan.sequenceMode().cliName())
                .put("stagedBytesPerToken", plan.streamedBytesPerToken()).put("allReducesPerToken", plan.allReducesPerToken())
                .put("allReducesPerRun", allReduces).put("allReduceSecondsPerRun", allReduceSeconds);
        var list = ipu.putArray("phases");
        for (int g = 0; g < groups.length; g++) {
            list.addObject().put("phase", groups[g]).put("stagingSecondsPerRun", seconds[g][0]).put("computeSecondsPerRun", seconds[g][1])
                    .put("stagedBytesPerRun", bytes[g]);
        }
        if (json) {
            return;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("  ipu: %d x %s, %s; per run (%d tokens): %d all-reduces, %.3f s; %s staged per token%n", plan.devices(),
                plan.options().device().name(), plan.sequenceMode().cliName(), decodeSteps + 1, allReduces, allReduceSeconds,
                CliFormat.bytes(plan.streamedBytesPerToken()));
        out.printf("  %-16s %12s %12s %14s%n", "phase", "staging s", "compute s", "staged/run");
        for (int g = 0; g < groups.length; g++) {
            out.printf("  %-16s %12.3f %12.3f %14s%n", groups[g], seconds[g][0], seconds[g][1], CliFormat.bytes(bytes[g]));
        }
    }

    /** Image encodes after the generations: enough for a steady-state median beside the first call's figure. */
    private static final int ENCODER_RUNS = 7;

    /**
     * The report of one backend: {@code first} is the process's first generation (a cold JVM: the
     * kernels not yet compiled), {@code timed} the runs after the warm-ups, {@code encodes} the
     * image encoder's times alone.
     */
    private ObjectNode report(Magma magma, ComputeOptions.BackendKind kind, Generation first, List<Generation> timed,
            List<Double> encodes, ReadBandwidth.Result probe, int cores) {
        double bandwidth = probe.gigabytesPerSecond();
        MagmaConfig model = magma.config();
        int prefillTokens = model.visual().imageTokens() + promptTokens;
        // Per decode step every LM matrix is read once (the embedding: one row only).
        long decodeBytes = decodeBytes(MagmaWeights.expectedShapes(model));
        double encode = median(timed, g -> seconds(g.timings().imageEncode()));
        double prefill = median(timed, g -> seconds(g.timings().prefill()));
        double decodeRate = median(timed, g -> g.timings().decodeTokensPerSecond());
        double ttft = median(timed, g -> seconds(g.timings().timeToFirstToken()));
        double coldTtft = seconds(first.timings().timeToFirstToken());
        double coldEncode = seconds(first.timings().imageEncode());
        double steadyEncode = median(encodes, e -> e);
        double total = median(timed, g -> seconds(g.timings().total()));
        int steps = timed.get(0).timings().decodeSteps();
        double decodeGBps = decodeRate * decodeBytes / 1e9;
        Map<String, Long> memory = CliFormat.memoryKiB();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode r = mapper.createObjectNode();
        String precision = kind == ComputeOptions.BackendKind.ipu ? "exact" : compute.format.precision.cliName();
        r.put("config", model.name()).put("backend", kind.name()).put("weights", compute.format.weights.cliName()).put("threads", cores)
                .put("precision", precision).put("sequenceMode", compute.layout.sequenceMode.cliName());
        r.put("promptTokens", promptTokens).put("prefillTokens", prefillTokens).put("newTokens", newTokens).put("runs", timed.size());
        r.put("readBandwidthGBps", bandwidth);
        ReadBandwidth.Probe best = probe.best();
        r.putObject("readBandwidthBest").put("threads", best.threads()).put("pattern", best.pattern().name().toLowerCase(java.util.Locale.ROOT))
                .put("prefetchBytes", best.prefetchBytes());
        var probes = r.putArray("readBandwidthProbes");
        for (ReadBandwidth.Probe p : probe.probes()) {
            probes.addObject().put("threads", p.threads()).put("pattern", p.pattern().name().toLowerCase(java.util.Locale.ROOT))
                    .put("prefetchBytes", p.prefetchBytes()).put("GBps", p.gigabytesPerSecond());
        }
        r.put("loadSeconds", seconds(magma.loadTime()));
        r.put("imageEncodeSeconds", encode);
        r.put("imageEncodeFirstCallSeconds", coldEncode).put("imageEncodeSteadySeconds", steadyEncode).put("imageEncodeSteadyCalls", encodes.size());
        r.put("prefillSeconds", prefill).put("prefillTokensPerSecond", prefillTokens / prefill);
        r.put("decodeSteps", steps).put("decodeTokensPerSecond", decodeRate);
        r.put("decodeWeightBytesPerToken", decodeBytes).put("decodeWeightGBps", decodeGBps);
        r.put("decodeBandwidthEfficiency", decodeGBps / bandwidth);
        r.put("timeToFirstTokenSeconds", ttft).put("endToEndSeconds", total);
        r.put("coldTimeToFirstTokenSeconds", coldTtft).put("coldOverWarmTimeToFirstToken", coldTtft / ttft);
        r.put("peakRssBytes", memory.getOrDefault("VmHWM", -1L) * 1024).put("rssAnonBytes", memory.getOrDefault("RssAnon", -1L) * 1024)
                .put("rssFileBytes", memory.getOrDefault("RssFile", -1L) * 1024);
        if (json) {
            return r;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("magma bench: %s backend, %s, %s weights, %s precision, %s, %d threads, %d image + %d prompt tokens, %d new tokens,"
                + " median of %d runs%n", kind, model.name(), compute.format.weights.cliName(), precision,
                compute.layout.sequenceMode.cliName(), cores, model.visual().imageTokens(), promptTokens, newTokens, timed.size());
        out.printf("  %-26s %10.2f GB/s (best of %d probes: %d threads, %s, prefetch %d B)%n", "read bandwidth", bandwidth,
                probe.probes().size(), best.threads(), best.pattern().name().toLowerCase(java.util.Locale.ROOT), best.prefetchBytes());
        out.printf("  %-26s %10.2f s%n", "load (map + validate)", seconds(magma.loadTime()));
        out.printf("  %-26s %10.2f s   (alone: first call %.2f s, steady %.2f s, median of %d)%n", "image encode", encode,
                coldEncode, steadyEncode, encodes.size());
        out.printf("  %-26s %10.2f s   %8.1f tokens/s%n", "prefill (" + prefillTokens + " tokens)", prefill, prefillTokens / prefill);
        out.printf("  %-26s %10.2f tok/s %7.2f GB/s of weights (%.0f%% of read bandwidth)%n", "decode (" + steps + " steps)",
                decodeRate, decodeGBps, 100 * decodeGBps / bandwidth);
        out.printf("  %-26s %10.2f s   (first run in this JVM %.2f s: %.2fx warm)%n", "time to first token", ttft, coldTtft,
                coldTtft / ttft);
        out.printf("  %-26s %10.2f s%n", "end-to-end caption", total);
        out.printf("  %-26s %10s (anonymous %s, mapped file %s)%n", "peak RSS", CliFormat.bytes(memory.getOrDefault("VmHWM", 0L) * 1024),
                CliFormat.bytes(memory.getOrDefault("RssAnon", 0L) * 1024), CliFormat.bytes(memory.getOrDefault("RssFile", 0L) * 1024));
        return r;
    }

    /**
     * Bytes of weights one decode step reads: every LM matrix once (the embedding: one row, left
     * out); int8 matrices take one byte per weight plus an fp16 scale per block.
     */
    private long decodeBytes(Map<String, long[]> shapes) {
        double total = 0;
        for (var e : shapes.entrySet()) {
            if (!e.getKey().startsWith("lm.") || e.getKey().contains("wte")) {
                continue;
            }
            long n = Tensor.numel(e.getValue());
            boolean matrix = e.getValue().length == 2;
            total += compute.format.weights == WeightFormat.Q8 && matrix ? n * (1 + 2.0 / Q8Quantizer.BLOCK) : n * 2.0;
        }
        return (long) total;
    }

    private static long weightBytes(Map<String, long[]> shapes, java.util.function.Predicate<String> include) {
        return shapes.entrySet().stream().filter(e -> include.test(e.getKey()))
                .mapToLong(e -> Tensor.numel(e.getValue()) * 2).sum();
    }

    private static PreprocessedImage randomImage(MagmaConfig model) {
        int size = model.visual().imageResolution();
        float[] pixels = new float[3 * size * size];
        SplittableRandom rnd = new SplittableRandom(0);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) rnd.nextGaussian();
        }
        return new PreprocessedImage(size, pixels);
    }

    private static <T> double median(List<T> runs, ToDoubleFunction<T> f) {
        double[] v = runs.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}
