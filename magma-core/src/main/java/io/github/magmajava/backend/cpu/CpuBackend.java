package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.BackendContext;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.KeyValues;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Precision;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;

/**
 * The default backend: pure Java on the JDK's Vector API, weights kept as mapped (fp16 widened
 * in registers or per panel), work split over a private fork-join pool. Where one of nd4j's oneDNN
 * builds runs (x86-64; the jar that fits the CPU is chosen at run time, docs/nd4j.md), many-row
 * Linear layers (prefill) and convolutions run on oneDNN instead ({@link OneDnnMode}); elsewhere
 * the pure-Java kernels do everything. oneDNN uses as many threads as the backend, per call.
 * Closing it stops the pool and frees the native scratch buffers.
 */
public final class CpuBackend implements Backend {
    /** Values from which {@link #gelu} is split over the workers (a decode step's 16384 are not). */
    private static final int GELU_SPLIT = 1 << 16;
    private final ForkJoinPool pool;
    /** The decode GEMVs' low-latency workers (the fork-join pool takes over when they are busy). */
    private final SpinningWorkers decode;
    /** oneDNN kernels for prefill GEMMs and convolutions; null: pure Java only. */
    private final Nd4jKernels oneDnn;
    /** Int8 replacements of Linear weights by name, or null. */
    private final Q8Weights quantized;

    private CpuBackend(int threads, OneDnnMode mode, Q8Weights quantized) {
        this(threads, mode, quantized, 0);
    }

    private CpuBackend(int threads, OneDnnMode mode, Q8Weights quantized, int oneDnnMinRows) {
        JvmRequirements.requireVectorApi();
        checkThreads(threads);
        this.pool = new ForkJoinPool(threads);
        this.decode = new SpinningWorkers(threads);
        this.quantized = quantized;
        this.oneDnn = Nd4jKernels.open(mode, pool, decode, oneDnnMinRows).orElse(null);
    }

    /** Workers per available processor at most ({@link #maxThreads()}). */
    public static final int THREADS_PER_PROCESSOR = 4;

    /**
     * The most worker threads a CPU backend takes: 4 per available processor. The decode workers
     * spin while they wait, so threads past the processors only take turns with those that
     * compute; a few per processor still leave room to measure that, and a typo such as 40000 is
     * refused with this range rather than failing inside the thread pool.
     */
    public static int maxThreads() {
        return THREADS_PER_PROCESSOR * Runtime.getRuntime().availableProcessors();
    }

    /** @throws IllegalArgumentException when {@code threads} is not from 1 to {@link #maxThreads()} */
    public static int checkThreads(int threads) {
        if (threads < 1 || threads > maxThreads()) {
            throw new IllegalArgumentException("threads must be from 1 to " + maxThreads() + " (" + THREADS_PER_PROCESSOR
                    + " per available processor), found " + threads);
        }
        return threads;
    }

    /** One worker per available processor; oneDNN as {@link OneDnnMode#configured()} says. */
    public static CpuBackend create() {
        return new CpuBackend(Runtime.getRuntime().availableProcessors(), OneDnnMode.configured(), null);
    }

    /**
     * The backend a model's {@link BackendContext} asks for: its threads, int8 weights and
     * precision ({@link Precision#EXACT}: oneDNN as {@link OneDnnMode#configured()} says, float32
     * by default; {@link Precision#FAST}: {@link OneDnnMode#BF16}).
     */
    public static CpuBackend create(BackendContext model) {
        Builder cpu = builder();
        model.quantized().ifPresent(cpu::quantized);
        if (model.threads() > 0) {
            cpu.threads(model.threads());
        }
        if (model.precision() == Precision.FAST) {
            cpu.oneDnn(OneDnnMode.BF16);
        }
        return cpu.build();
    }

    /** {@code threads} Java workers; oneDNN as {@link OneDnnMode#configured()} says. */
    public static CpuBackend withThreads(int threads) {
        return new CpuBackend(threads, OneDnnMode.configured(), null);
    }

    /**
     * {@code threads} Java workers, oneDNN in {@code mode} where it can run, each oneDNN call on
     * {@code threads} OpenMP threads (set per call, so backends with different counts coexist).
     */
    public static CpuBackend withThreads(int threads, OneDnnMode mode) {
        return new CpuBackend(threads, mode, null);
    }

    public int threads() {
        return pool.getParallelism();
    }

    /**
     * The oneDNN mode in effect: {@link OneDnnMode#OFF} when asked for or when nd4j cannot run here,
     * {@link OneDnnMode#FP32} for BF16 on a CPU where oneDNN has no bfloat16 matmul (no AVX-512).
     */
    public OneDnnMode oneDnnMode() {
        return oneDnn == null ? OneDnnMode.OFF : oneDnn.mode();
    }

    /** The nd4j build oneDNN runs from, as its Maven classifier ({@code linux-x86_64-onednn-avx2} ...); empty when OFF. */
    public Optional<String> oneDnnBuild() {
        return oneDnn == null ? Optional.empty() : Optional.of(oneDnn.build());
    }

    @Override
    public String name() {
        return "cpu";
    }

    /**
     * Up to {@link Gemm#STREAM_ROWS} rows stream the weights with one FMA chain per output, the
     * same as one row alone; oneDNN (from its mode's minimum rows) and the panel kernel sum in
     * another order.
     */
    @Override
    public int independentRows() {
        return oneDnn == null ? Gemm.STREAM_ROWS : Math.min(Gemm.STREAM_ROWS, oneDnn.minRows() - 1);
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias, Split split) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("linear weight " + weight.name() + " must be [out, in], found " + weight.describe());
        }
        WeightMatrix w = quantized == null ? WeightMatrix.of(weight)
                : quantized.find(weight).map(WeightMatrix::of).orElseGet(() -> WeightMatrix.of(weight));
        return linear(w, bias);
    }

    /**
     * Prepares {@code y = x W^T + b} over int8 weights as they are (a staging backend's copy of a
     * shard of the q8 cache); bias may be null.
     */
    public Linear linear(Q8Tensor weight, Tensor bias) {
        return linear(WeightMatrix.of(weight), bias);
    }

    private Linear linear(WeightMatrix w, Tensor bias) {
        float[] b = bias == null ? null : bias.toFloatArray();
        if (b != null && b.length != w.rows) {
            throw new IllegalArgumentException("linear bias " + bias.name() + " must have " + w.rows + " values, found " + b.length);
        }
        if (oneDnn != null) {
            return oneDnn.linear(w, b);
        }
        return new Linear() {
            @Override
            public int inFeatures() {
                return w.cols;
            }

            @Override
            public int outFeatures() {
                return w.rows;
            }

            @Override
            public void forward(float[] x, int rows, float[] y) {
                Gemm.multiply(x, rows, w.cols, w, b, y, pool, decode);
            }
        };
    }

    @Override
    public Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride, int padding) {
        if (oneDnn != null) {
            return oneDnn.conv2d(weight, bias, inChannels, outChannels, kernel, stride, padding);
        }
        return new Im2colConv(weight, bias, inChannels, outChannels, kernel, stride, padding, pool);
    }

    @Override
    public void embedding(Tensor table, int[] ids, float[] out) {
        WeightMatrix t = WeightMatrix.of(table);
        for (int r = 0; r < ids.length; r++) {
            if (ids[r] < 0 || ids[r] >= t.rows) {
                throw new IllegalArgumentException("token id " + ids[r] + " has no row in " + table.name() + " (" + t.rows + " rows)");
            }
            t.widenRow(ids[r], out, r * t.cols);
        }
    }

    @Override
    public void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        Elementwise.layerNorm(x, rows, dim, gamma, beta, eps, out);
    }

    @Override
    public void gelu(float[] x, int n) {
        // A prefill's 160 x 16384 values are worth splitting; elementwise, with the tail masked like
        // the body, so the result does not depend on the split.
        int tasks = n < GELU_SPLIT ? 1 : pool.getParallelism() * 4;
        Tasks.run(pool, tasks, t -> Elementwise.gelu(x, (int) ((long) n * t / tasks), (int) ((long) n * (t + 1) / tasks)));
    }

    @Override
    public void relu(float[] x, int n) {
        Elementwise.relu(x, n);
    }

    @Override
    public void add(float[] x, float[] y, int n) {
        Elementwise.add(x, y, n);
    }

    @Override
    public void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        Elementwise.avgPool2d(x, channels, h, w, k, out);
    }

    @Override
    public void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        Attention.rope(x, rows, heads, headDim, rotaryDim, base, startPos);
    }

    @Override
    public void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out) {
        Tasks.run(pool, rows * heads,
                t -> Attention.head(q, kv, t / heads, startPos, t % heads, heads, headDim, out));
    }

    @Override
    public void close() {
        pool.shutdown();
        decode.close();
        if (oneDnn != null) {
            oneDnn.close();
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link CpuBackend}. */
    public static final class Builder {
        private int threads = Runtime.getRuntime().availableProcessors();
        private Q8Weights quantized;
        private OneDnnMode oneDnn = OneDnnMode.configured();
        private int oneDnnMinRows;

        private Builder() {
        }

        /** Worker threads (default: one per available processor). */
        public Builder threads(int count) {
            this.threads = count;
            return this;
        }

        /**
         * Int8 weights to use instead of the Linear weights of the same name ({@code --weights q8});
         * the others stay as given. The caller keeps ownership: close them after the backend.
         */
        public Builder quantized(Q8Weights weights) {
            this.quantized = Objects.requireNonNull(weights, "quantized weights");
            return this;
        }

        /**
         * Where and in which format prefill GEMMs and convolutions run (default:
         * {@link OneDnnMode#configured()}, i.e. {@link OneDnnMode#FP32} unless the system property
         * says otherwise). {@link OneDnnMode#BF16} about halves the prefill time at bfloat16
         * accuracy (docs/performance.md).
         */
        public Builder oneDnn(OneDnnMode mode) {
            this.oneDnn = Objects.requireNonNull(mode, "oneDnn");
            return this;
        }

        /** Rows from which Linear layers run on oneDNN (tests: small shapes on oneDNN); default per mode. */
        Builder oneDnnMinRows(int rows) {
            this.oneDnnMinRows = rows;
            return this;
        }

        public CpuBackend build() {
            return new CpuBackend(threads, oneDnn, quantized, oneDnnMinRows);
        }
    }
}
