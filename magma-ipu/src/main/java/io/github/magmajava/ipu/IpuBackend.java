package io.github.magmajava.ipu;

import io.github.magmajava.backend.AbstractConv2d;
import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.BackendContext;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.backend.BackendFactory;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.KeyValues;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.backend.cpu.OneDnnMode;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The seed's execution model on the host: an {@link ExecutionPlan} run phase by phase over N
 * devices, each with its own bounded memory. Before a phase runs, each device's shards are copied
 * from remote memory (the mapped checkpoint, the int8 cache, the folded convolutions) into that
 * device's memory; every Linear, convolution and embedding lookup of the phase then reads only
 * its device's copies (LayerNorm vectors are staged and counted, the host kernels read the
 * model's float copies; activations and the KV cache are counted, computed in host arrays). The
 * devices' parts run one after another on the host's cores, with the pure-Java kernels of the CPU
 * backend (their sums do not depend on the thread count), and their partial sums are joined in
 * device order, so a run is reproducible bit for bit.
 *
 * <p>Thread-safe: phases run one at a time (concurrent generations take turns per phase), as on
 * one set of devices.
 */
public final class IpuBackend implements Backend {
    private final ExecutionPlan plan;
    private final CpuBackend kernels;
    private final Q8Weights quantized;
    private final DeviceMemory[] memories;
    /** The host's folded convolutions by weight name: their remote copies. */
    private final Map<String, FoldedConv> convs = new ConcurrentHashMap<>();
    /** Bias tensor of each Linear weight, by weight name. */
    private final Map<String, Tensor> biases = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Statistics statistics;
    /** The phase staged now; guarded by lock. */
    private StagedPhase current;

    private IpuBackend(ExecutionPlan plan, Q8Weights quantized, int threads, OneDnnMode oneDnn, long[] capacities) {
        this.plan = plan;
        this.quantized = quantized;
        this.statistics = new Statistics(plan);
        this.kernels = CpuBackend.builder().threads(threads > 0 ? CpuBackend.checkThreads(threads)
                : Runtime.getRuntime().availableProcessors()).oneDnn(oneDnn).build();
        this.memories = new DeviceMemory[plan.devices()];
        try {
            for (int d = 0; d < memories.length; d++) {
                memories[d] = new DeviceMemory(d, capacities[d]);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
    }

    /**
     * Runs {@code plan}: each device's memory is allocated at the plan's peak for that device.
     *
     * @param quantized the int8 weights when the plan's weights are q8 (the caller closes them after the backend)
     * @param threads   host threads; 0 for one per available processor
     * @throws IllegalArgumentException when the plan does not fit its devices (its refusal line)
     */
    public static IpuBackend create(ExecutionPlan plan, Q8Weights quantized, int threads) {
        plan.refusal().ifPresent(r -> {
            throw new IllegalArgumentException(r);
        });
        return new IpuBackend(plan, checkQuantized(plan, quantized), threads, OneDnnMode.OFF, peaks(plan));
    }

    /** As {@link #create} but with device memories of the given sizes and no fit check: the run itself must refuse. */
    static IpuBackend withoutPlanCheck(ExecutionPlan plan, Q8Weights quantized, long[] deviceBytes) {
        return new IpuBackend(plan, checkQuantized(plan, quantized), 0, OneDnnMode.OFF, deviceBytes.clone());
    }

    /** Plans the model being loaded with {@code options} (its config, weights and sequence mode) and runs the plan. */
    public static BackendFactory factory(IpuOptions options) {
        Objects.requireNonNull(options, "options");
        return model -> create(model, options);
    }

    /**
     * The backend {@link #factory} makes for {@code model}.
     *
     * @throws IllegalArgumentException for {@link Precision#FAST}: the phases' host runtime has
     *     only the float32 kernels, and a silently exact "fast" model would mislead
     */
    public static IpuBackend create(BackendContext model, IpuOptions options) {
        if (model.precision() != Precision.EXACT) {
            throw new IllegalArgumentException("precision " + model.precision().cliName() + " is not available on the ipu backend"
                    + " (its host runtime computes in float32); use exact");
        }
        return create(Planner.plan(model.config(), options, model.weights(), model.sequenceMode()), model.quantized().orElse(null),
                model.threads());
    }

    private static Q8Weights checkQuantized(ExecutionPlan plan, Q8Weights quantized) {
        if ((plan.weights() == io.github.magmajava.quant.WeightFormat.Q8) != (quantized != null)) {
            throw new IllegalArgumentException("the plan's weights are " + plan.weights().cliName() + ", but int8 weights were "
                    + (quantized == null ? "not given" : "given"));
        }
        return quantized;
    }

    private static long[] peaks(ExecutionPlan plan) {
        long[] peaks = new long[plan.devices()];
        Arrays.setAll(peaks, plan::peakBytes);
        return peaks;
    }

    public ExecutionPlan plan() {
        return plan;
    }

    /** Per-phase times, bytes staged and all-reduces since creation or the last {@link #resetStatistics()}. */
    public Statistics.Snapshot statistics() {
        return statistics.snapshot();
    }

    public void resetStatistics() {
        statistics.reset();
    }

    @Override
    public String name() {
        return "ipu";
    }

    @Override
    public int devices() {
        return plan.devices();
    }

    /** Each shard runs on the host kernels: independent as far as theirs are. */
    @Override
    public int independentRows() {
        return kernels.independentRows();
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias, Split split) {
        Split planned = plan.splits().get(weight.name());
        if (planned == null) {
            throw new IllegalArgumentException("weight " + weight.name() + " is not in the plan for config '" + plan.config() + "'");
        }
        if (planned != split) {
            throw new IllegalArgumentException("the model splits " + weight.name() + " by " + split + ", the plan by " + planned);
        }
        if (bias != null) {
            biases.put(weight.name(), bias);
        }
        return new StagedLinear(weight.name(), split, (int) weight.dim(1), (int) weight.dim(0));
    }

    @Override
    public Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride,
            int padding) {
        convs.put(name, new FoldedConv(weight, bias, inChannels, outChannels, kernel, stride, padding));
        return new AbstractConv2d(weight, bias, inChannels, outChannels, kernel, stride, padding) {
            @Override
            public void forward(float[] x, int h, int w, float[] y) {
                staged().conv(name).forward(x, h, w, y);
            }
        };
    }

    @Override
    public <T> T run(Phase phase, Supplier<T> body) {
        PhasePlan planned = plan.phase(phase.name()).orElseThrow(() -> new IllegalArgumentException(
                "phase '" + phase.name() + "' is not in the plan for config '" + plan.config() + "'"));
        lock.lock();
        try {
            if (current != null) {
                throw new IllegalStateException("phase '" + phase.name() + "' started inside phase '" + current.plan().name() + "'");
            }
            long start = System.nanoTime();
            current = StagedPhase.stage(planned, phase, memories, quantized, convs, biases, kernels);
            long staged = System.nanoTime();
            try {
                return body.get();
            } finally {
                statistics.phase(planned, staged - start, System.nanoTime() - staged);
            }
        } finally {
            current = null;
            lock.unlock();
        }
    }

    private StagedPhase staged() {
        StagedPhase s = lock.isHeldByCurrentThread() ? current : null;
        if (s == null) {
            throw new IllegalStateException("no phase is running: the IPU backend computes only inside Backend.run");
        }
        return s;
    }

    @Override
    public void embedding(Tensor table, int[] ids, float[] out) {
        StagedPhase s = staged();
        int d = (int) table.dim(1);
        for (int id : ids) {
            if (id < 0 || id >= table.dim(0)) {
                throw new IllegalArgumentException("token id " + id + " has no row in " + table.name() + " (" + table.dim(0) + " rows)");
            }
        }
        // Each device looks up the ids in its range, zeros elsewhere; the all-reduce adds one
        // row to zeros, so the join is exact.
        float[][] partials = new float[devices()][ids.length * d];
        for (int device = 0; device < devices(); device++) {
            s.lookUp(table.name(), device, ids, partials[device]);
        }
        System.arraycopy(allReduce(partials, ids.length * d), 0, out, 0, ids.length * d);
    }

    @Override
    public float[] allReduce(float[][] partials, int n) {
        if (partials.length != devices()) {
            throw new IllegalArgumentException("all-reduce over " + partials.length + " partial sums, the plan has " + devices()
                    + " devices");
        }
        if (partials.length == 1) {
            return partials[0]; // one device holds the whole sum: nothing to exchange
        }
        long start = System.nanoTime();
        for (int device = 1; device < partials.length; device++) {
            kernels.add(partials[0], partials[device], n);
        }
        statistics.allReduce(System.nanoTime() - start);
        return partials[0];
    }

    @Override
    public void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        staged();
        kernels.layerNorm(x, rows, dim, gamma, beta, eps, out);
    }

    @Override
    public void gelu(float[] x, int n) {
        staged();
        kernels.gelu(x, n);
    }

    @Override
    public void relu(float[] x, int n) {
        staged();
        kernels.relu(x, n);
    }

    @Override
    public void add(float[] x, float[] y, int n) {
        staged();
        kernels.add(x, y, n);
    }

    @Override
    public void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        staged();
        kernels.avgPool2d(x, channels, h, w, k, out);
    }

    @Override
    public void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        staged();
        kernels.rope(x, rows, heads, headDim, rotaryDim, base, startPos);
    }

    @Override
    public void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out) {
        staged();
        kernels.attention(q, kv, rows, startPos, heads, headDim, out);
    }

    @Override
    public void close() {
        kernels.close();
        for (DeviceMemory m : memories) {
            if (m != null) {
                m.close();
            }
        }
    }

    /** A folded convolution as the host keeps it: the remote copy a phase stages from. */
    record FoldedConv(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding) {
    }

    /** A Linear whose per-device parts read the shards the running phase staged. */
    private final class StagedLinear implements Linear {
        private final String name;
        private final Split split;
        private final int in;
        private final int out;

        StagedLinear(String name, Split split, int in, int out) {
            this.name = name;
            this.split = split;
            this.in = in;
            this.out = out;
        }

        @Override
        public int inFeatures() {
            return in;
        }

        @Override
        public int outFeatures() {
            return out;
        }

        @Override
        public void forward(int device, float[] x, int rows, float[] y) {
            staged().linear(name, device).forward(x, rows, y);
        }

        /** The whole layer: replicated ones on device 0; the others split and joined on the host. */
        @Override
        public void forward(float[] x, int rows, float[] y) {
            StagedPhase s = staged();
            switch (split) {
                case REPLICATED -> s.linear(name, 0).forward(x, rows, y);
                case VOCABULARY, OUTPUT_COLUMNS -> {
                    // each device's output columns, joined into y on the host
                    for (int device = 0; device < devices(); device++) {
                        Range cols = s.outputs(name, device);
                        int width = (int) cols.length();
                        if (width == 0) {
                            continue;
                        }
                        float[] part = new float[rows * width];
                        s.linear(name, device).forward(x, rows, part);
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(part, r * width, y, r * out + (int) cols.start(), width);
                        }
                    }
                }
                case INPUT_ROWS -> {
                    float[][] partials = new float[devices()][rows * out];
                    for (int device = 0; device < devices(); device++) {
                        Range inputs = s.inputs(name, device);
                        int width = (int) inputs.length();
                        float[] slice = new float[rows * width];
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(x, r * in + (int) inputs.start(), slice, r * width, width);
                        }
                        s.linear(name, device).forward(slice, rows, partials[device]);
                    }
                    System.arraycopy(allReduce(partials, rows * out), 0, y, 0, rows * out);
                }
            }
        }
    }
}
