package io.github.magmajava.clip.onednn;

import io.github.magmajava.clip.FoldedConv;
import io.github.magmajava.config.VisualConfig;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.weights.BottleneckWeights;
import io.github.magmajava.weights.ResNetWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The image encoder (RN50x16 without attention pool) and the image prefix's projection as one
 * fixed chain of oneDNN 3 primitives in bfloat16: every convolution's weights (BatchNorm folded,
 * then rounded to bf16) are reordered once, at load, into the layout its primitive prefers;
 * activations stay bf16 NHWC between layers in a few reused buffers; bias, ReLU and the residual
 * sum run inside the convolutions (post-ops); the pooling and projection are oneDNN primitives
 * too. The projection's output is float32 [tokens, dim], before the LayerNorm.
 *
 * <p>One image at a time (calls are serialized). Native memory (about half the fp32 weights) is
 * freed by {@link #close()}.
 */
public final class Bf16Encoder implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Bf16Encoder.class.getName());
    private final Dnnl dnnl;
    private final Arena arena = Arena.ofShared();
    private final List<Step> steps = new ArrayList<>();
    private final List<MemorySegment> memories = new ArrayList<>();
    private final List<MemorySegment> primitives = new ArrayList<>();
    private final Map<String, Integer> implementations = new LinkedHashMap<>();
    private final Deque<MemorySegment> freeSlabs = new ArrayDeque<>();
    private final long slabBytes;
    private final int resolution;
    private final int tokens;
    private final int dim;
    private final MemorySegment input;
    private final MemorySegment output;
    private final int threads;
    private boolean closed;

    private record Step(MemorySegment primitive, MemorySegment args) {
    }

    /** An activation [1, c, h, w] bf16 NHWC in a slab. */
    private record Act(MemorySegment memory, MemorySegment slab, int c, int h, int w) {
    }

    private Bf16Encoder(Dnnl dnnl, ResNetWeights weights, VisualConfig config, Tensor projWeight, Tensor projBias, int threads) {
        this.dnnl = dnnl;
        this.threads = threads;
        this.resolution = config.imageResolution();
        this.tokens = config.imageTokens();
        this.dim = (int) projWeight.dim(0);
        this.slabBytes = 2L * largestActivation(config);
        this.input = arena.allocate(4L * 3 * resolution * resolution, 64);
        this.output = arena.allocate(4L * tokens * dim, 64);
        try {
            build(weights, config, projWeight, projBias);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The encoder on oneDNN 3, or empty with the reason where it does not load or a primitive has
     * only oneDNN's reference (slow) implementation on this CPU (no AVX-512: no bf16 kernels).
     *
     * @param threads OpenMP threads per call
     */
    public static Optional<Bf16Encoder> create(ResNetWeights weights, VisualConfig config, Tensor projWeight, Tensor projBias,
            int threads) {
        Optional<Dnnl> dnnl = Dnnl.load();
        if (dnnl.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "image encoder in float32: " + Dnnl.unavailableReason().orElse("oneDNN 3 did not load"));
            return Optional.empty();
        }
        try {
            return Optional.of(new Bf16Encoder(dnnl.get(), weights, config, projWeight, projBias, threads));
        } catch (UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.INFO, "image encoder in float32: " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Tokens [tokens, dim] (row-major, before the LayerNorm) of a preprocessed [3, S, S] image. */
    public float[] encode(float[] image) {
        if (image.length != 3 * resolution * resolution) {
            throw new IllegalArgumentException("image must be [3, " + resolution + ", " + resolution + "], found "
                    + image.length + " values");
        }
        float[] out = new float[tokens * dim];
        synchronized (dnnl) {
            if (closed) {
                throw new IllegalStateException("the bf16 image encoder is closed");
            }
            MemorySegment.copy(image, 0, input, ValueLayout.JAVA_FLOAT, 0, image.length);
            dnnl.setThreads(threads);
            for (Step step : steps) {
                dnnl.execute(step.primitive(), step.args());
            }
            dnnl.await();
            MemorySegment.copy(output, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
        return out;
    }

    /** The implementations oneDNN chose, with how many primitives use each (for logs and tests). */
    public Map<String, Integer> implementations() {
        return Map.copyOf(implementations);
    }

    public int tokens() {
        return tokens;
    }

    public int dim() {
        return dim;
    }

    private void build(ResNetWeights weights, VisualConfig config, Tensor projWeight, Tensor projBias) {
        int s = resolution;
        MemorySegment imageDesc = dnnl.desc(new long[] {1, 3, s, s}, Dnnl.F32, Dnnl.TAG_ABCD);
        MemorySegment imageMemory = own(dnnl.memory(imageDesc, input));
        dnnl.destroyDesc(imageDesc);
        Act image = act(3, s, s);
        addReorder(imageMemory, image.memory());

        Act x1 = conv(FoldedConv.fold(weights.stem1()), image, 2, 1, true, null);
        release(image);
        Act x2 = conv(FoldedConv.fold(weights.stem2()), x1, 1, 1, true, null);
        release(x1);
        Act x3 = conv(FoldedConv.fold(weights.stem3()), x2, 1, 1, true, null);
        release(x2);
        Act x = pool(x3, 2);
        release(x3);
        for (List<BottleneckWeights> stage : weights.stages()) {
            for (BottleneckWeights block : stage) {
                x = bottleneck(block, x);
            }
        }
        projection(x, projWeight, projBias);
        release(x);
    }

    /** conv1-ReLU, conv2-ReLU, pool, conv3 + identity (sum post-op), ReLU; x is consumed. */
    private Act bottleneck(BottleneckWeights block, Act x) {
        int stride = block.stride();
        Act a = conv(FoldedConv.fold(block.conv1()), x, 1, 0, true, null);
        Act b = conv(FoldedConv.fold(block.conv2()), a, 1, 1, true, null);
        release(a);
        if (stride > 1) {
            Act pooled = pool(b, stride);
            release(b);
            b = pooled;
        }
        Act identity;
        if (block.downsample().isPresent()) {
            FoldedConv down = FoldedConv.fold(block.downsample().get());
            if (stride > 1) {
                Act pooled = pool(x, stride);
                identity = conv(down, pooled, 1, 0, false, null);
                release(pooled);
            } else {
                identity = conv(down, x, 1, 0, false, null);
            }
            release(x);
        } else {
            identity = x;
        }
        Act out = conv(FoldedConv.fold(block.conv3()), b, 1, 0, true, identity);
        release(b);
        return out;
    }

    /**
     * A convolution step; with {@code sumInto} the result is added to that activation in place
     * (before the ReLU) and that activation is returned.
     */
    private Act conv(FoldedConv fc, Act src, int stride, int padding, boolean relu, Act sumInto) {
        if (fc.inChannels() != src.c()) {
            throw new IllegalArgumentException(fc.name() + " takes " + fc.inChannels() + " channels, found " + src.c());
        }
        int k = fc.kernel();
        int oh = (src.h() + 2 * padding - k) / stride + 1;
        int ow = (src.w() + 2 * padding - k) / stride + 1;
        MemorySegment weightsAny = dnnl.desc(new long[] {fc.outChannels(), fc.inChannels(), k, k}, Dnnl.BF16, Dnnl.TAG_ANY);
        MemorySegment biasDesc = dnnl.desc(new long[] {fc.outChannels()}, Dnnl.F32, Dnnl.TAG_A);
        MemorySegment dstDesc = actDesc(fc.outChannels(), oh, ow);
        MemorySegment srcDesc = actDesc(src.c(), src.h(), src.w());
        MemorySegment attr = dnnl.attr(sumInto != null, relu);
        MemorySegment pd;
        try {
            pd = dnnl.convolution(srcDesc, weightsAny, biasDesc, dstDesc, stride, padding, attr);
        } finally {
            dnnl.destroyAttr(attr);
            dnnl.destroyDesc(weightsAny);
            dnnl.destroyDesc(srcDesc);
            dnnl.destroyDesc(dstDesc);
        }
        try {
            note(pd, fc.name());
            MemorySegment weights = preparedWeights(pd, fc.weight(), new long[] {fc.outChannels(), fc.inChannels(), k, k},
                    Dnnl.TAG_ABCD);
            MemorySegment bias = own(dnnl.memory(biasDesc, null));
            MemorySegment.copy(fc.bias(), 0, dnnl.data(bias, 4L * fc.outChannels()), ValueLayout.JAVA_FLOAT, 0, fc.outChannels());
            Act dst = sumInto != null ? sumInto : act(fc.outChannels(), oh, ow);
            if (dst.c() != fc.outChannels() || dst.h() != oh || dst.w() != ow) {
                throw new IllegalArgumentException(fc.name() + " gives [" + fc.outChannels() + ", " + oh + ", " + ow
                        + "], the residual is [" + dst.c() + ", " + dst.h() + ", " + dst.w() + "]");
            }
            MemorySegment primitive = ownPrimitive(dnnl.primitive(pd));
            steps.add(new Step(primitive, dnnl.args(arena, Dnnl.ARG_SRC, src.memory(), Dnnl.ARG_WEIGHTS, weights, Dnnl.ARG_BIAS,
                    bias, Dnnl.ARG_DST, dst.memory())));
            return dst;
        } finally {
            dnnl.destroyDesc(biasDesc);
            dnnl.destroyPrimitiveDesc(pd);
        }
    }

    private Act pool(Act src, int k) {
        Act dst = act(src.c(), src.h() / k, src.w() / k);
        MemorySegment srcDesc = actDesc(src.c(), src.h(), src.w());
        MemorySegment dstDesc = actDesc(dst.c(), dst.h(), dst.w());
        MemorySegment pd = dnnl.avgPool(srcDesc, dstDesc, k);
        dnnl.destroyDesc(srcDesc);
        dnnl.destroyDesc(dstDesc);
        try {
            note(pd, "avg_pool");
            MemorySegment primitive = ownPrimitive(dnnl.primitive(pd));
            steps.add(new Step(primitive, dnnl.args(arena, Dnnl.ARG_SRC, src.memory(), Dnnl.ARG_DST, dst.memory())));
        } finally {
            dnnl.destroyPrimitiveDesc(pd);
        }
        return dst;
    }

    /** The grid [1, C, g, g] NHWC is already tokens [g*g, C]: a bf16 matmul with float output. */
    private void projection(Act grid, Tensor projWeight, Tensor projBias) {
        int rows = grid.h() * grid.w();
        int in = grid.c();
        if (rows != tokens || projWeight.dim(1) != in) {
            throw new IllegalArgumentException("projection " + projWeight.name() + " " + projWeight.describe() + " does not fit the grid ["
                    + in + ", " + grid.h() + ", " + grid.w() + "]");
        }
        MemorySegment srcDesc = dnnl.desc(new long[] {rows, in}, Dnnl.BF16, Dnnl.TAG_AB);
        MemorySegment weightsAny = dnnl.desc(new long[] {in, dim}, Dnnl.BF16, Dnnl.TAG_ANY);
        MemorySegment biasDesc = dnnl.desc(new long[] {1, dim}, Dnnl.F32, Dnnl.TAG_AB);
        MemorySegment dstDesc = dnnl.desc(new long[] {rows, dim}, Dnnl.F32, Dnnl.TAG_AB);
        MemorySegment pd = dnnl.matmul(srcDesc, weightsAny, biasDesc, dstDesc, MemorySegment.NULL);
        try {
            note(pd, projWeight.name());
            MemorySegment src = own(dnnl.memory(srcDesc, grid.slab()));
            MemorySegment dst = own(dnnl.memory(dstDesc, output));
            MemorySegment weights = preparedWeights(pd, projWeight.toFloatArray(), new long[] {in, dim}, Dnnl.TAG_BA);
            MemorySegment bias = own(dnnl.memory(biasDesc, null));
            float[] b = projBias.toFloatArray();
            MemorySegment.copy(b, 0, dnnl.data(bias, 4L * dim), ValueLayout.JAVA_FLOAT, 0, dim);
            MemorySegment primitive = ownPrimitive(dnnl.primitive(pd));
            steps.add(new Step(primitive, dnnl.args(arena, Dnnl.ARG_SRC, src, Dnnl.ARG_WEIGHTS, weights, Dnnl.ARG_BIAS, bias,
                    Dnnl.ARG_DST, dst)));
        } finally {
            dnnl.destroyPrimitiveDesc(pd);
            dnnl.destroyDesc(srcDesc);
            dnnl.destroyDesc(weightsAny);
            dnnl.destroyDesc(biasDesc);
            dnnl.destroyDesc(dstDesc);
        }
    }

    /** A reorder step from {@code from} to {@code to}, run with the others. */
    private void addReorder(MemorySegment from, MemorySegment to) {
        MemorySegment pd = dnnl.reorder(descOf(from), descOf(to));
        try {
            MemorySegment primitive = ownPrimitive(dnnl.primitive(pd));
            steps.add(new Step(primitive, dnnl.args(arena, Dnnl.ARG_SRC, from, Dnnl.ARG_DST, to)));
        } finally {
            dnnl.destroyPrimitiveDesc(pd);
        }
    }

    /** A reorder run now (weights at load). */
    private void reorderNow(MemorySegment from, MemorySegment to) {
        MemorySegment pd = dnnl.reorder(descOf(from), descOf(to));
        MemorySegment primitive = dnnl.primitive(pd);
        dnnl.destroyPrimitiveDesc(pd);
        try (Arena scratch = Arena.ofConfined()) {
            dnnl.execute(primitive, dnnl.args(scratch, Dnnl.ARG_SRC, from, Dnnl.ARG_DST, to));
            dnnl.await();
        } finally {
            dnnl.destroyPrimitive(primitive);
        }
    }

    private MemorySegment descOf(MemorySegment memory) {
        return dnnl.memoryDesc(memory);
    }

    private void note(MemorySegment pd, String what) {
        String impl = dnnl.implementation(pd);
        if (impl.startsWith("ref")) {
            throw new UnsupportedOperationException(what + ": oneDNN has only its reference implementation here (" + impl + ")");
        }
        implementations.merge(impl, 1, Integer::sum);
    }

    private MemorySegment actDesc(int c, int h, int w) {
        return dnnl.desc(new long[] {1, c, h, w}, Dnnl.BF16, Dnnl.TAG_ACDB);
    }

    private Act act(int c, int h, int w) {
        if (2L * c * h * w > slabBytes) {
            throw new IllegalStateException("activation [" + c + ", " + h + ", " + w + "] exceeds the buffers' " + slabBytes + " bytes");
        }
        MemorySegment slab = freeSlabs.isEmpty() ? arena.allocate(slabBytes, 4096) : freeSlabs.pop();
        MemorySegment desc = actDesc(c, h, w);
        MemorySegment memory = own(dnnl.memory(desc, slab));
        dnnl.destroyDesc(desc);
        return new Act(memory, slab, c, h, w);
    }

    private void release(Act act) {
        freeSlabs.push(act.slab());
    }

    private MemorySegment own(MemorySegment memory) {
        memories.add(memory);
        return memory;
    }

    private MemorySegment ownPrimitive(MemorySegment primitive) {
        primitives.add(primitive);
        return primitive;
    }

    /** The largest activation, in elements: the image, the stem's full-resolution maps or a stage's. */
    private static long largestActivation(VisualConfig config) {
        long s = config.imageResolution();
        long w = config.width();
        long largest = Math.max(3 * s * s, w * (s / 2) * (s / 2));
        long res = s / 4;
        long inplanes = w;
        for (int stage = 0; stage < config.layers().size(); stage++) {
            long planes = w << stage;
            largest = Math.max(largest, Math.max(planes, inplanes) * res * res);
            int stride = stage == 0 ? 1 : 2;
            res /= stride;
            largest = Math.max(largest, 4 * planes * res * res);
            inplanes = 4 * planes;
        }
        return largest;
    }

    /**
     * Native memory (owned by this encoder) in the layout {@code pd} wants for its weights, holding
     * {@code values}: float32 of shape {@code dims} in {@code tag} order, reordered once, now.
     */
    private MemorySegment preparedWeights(MemorySegment pd, float[] values, long[] dims, int tag) {
        MemorySegment weights = own(dnnl.memory(dnnl.weightsOf(pd), null));
        MemorySegment userDesc = dnnl.desc(dims, Dnnl.F32, tag);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment user = scratch.allocate(4L * values.length, 64);
            MemorySegment.copy(values, 0, user, ValueLayout.JAVA_FLOAT, 0, values.length);
            MemorySegment userMemory = dnnl.memory(userDesc, user);
            try {
                reorderNow(userMemory, weights);
            } finally {
                dnnl.destroyMemory(userMemory);
            }
        } finally {
            dnnl.destroyDesc(userDesc);
        }
        return weights;
    }

    @Override
    public void close() {
        synchronized (dnnl) {
            if (closed) {
                return;
            }
            closed = true;
            for (MemorySegment p : primitives) {
                dnnl.destroyPrimitive(p);
            }
            for (MemorySegment m : memories) {
                dnnl.destroyMemory(m);
            }
            steps.clear();
            arena.close();
        }
    }
}
