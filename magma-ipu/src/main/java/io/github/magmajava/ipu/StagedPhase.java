package io.github.magmajava.ipu;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.backend.cpu.CpuBackend;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import io.github.magmajava.quant.Q8Quantizer;
import io.github.magmajava.quant.Q8Tensor;
import io.github.magmajava.quant.Q8Weights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One phase's shards, copied into each device's memory as the plan lists them, and the host
 * kernels prepared over those copies. Lives while its phase runs; used by one thread.
 */
final class StagedPhase {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final PhasePlan plan;
    private final CpuBackend kernels;
    private final Map<String, Tensor> biases;
    private final Map<Key, Staged> shards = new HashMap<>();
    private final Map<Key, Linear> linears = new HashMap<>();
    private final Map<String, Conv2d> convs = new HashMap<>();

    private record Key(String tensor, int device) {
    }

    /** A shard in device memory: a float tensor view, int8 blocks, or a folded convolution. */
    private record Staged(Shard shard, Tensor tensor, Q8Tensor q8, IpuBackend.FoldedConv conv) {
    }

    private StagedPhase(PhasePlan plan, CpuBackend kernels, Map<String, Tensor> biases) {
        this.plan = plan;
        this.kernels = kernels;
        this.biases = biases;
    }

    PhasePlan plan() {
        return plan;
    }

    /**
     * Copies every device's shards from remote memory into its {@link DeviceMemory} and reserves
     * the phase's activation and KV cache bytes there.
     *
     * @throws DeviceMemoryException when a device's memory is too small for the phase
     */
    static StagedPhase stage(PhasePlan plan, Phase phase, DeviceMemory[] memories, Q8Weights quantized,
            Map<String, IpuBackend.FoldedConv> convs, Map<String, Tensor> biases, CpuBackend kernels) {
        Map<String, Tensor> sources = phase.weights().stream()
                .collect(Collectors.toMap(Tensor::name, Function.identity(), (a, b) -> a));
        StagedPhase staged = new StagedPhase(plan, kernels, biases);
        for (int device = 0; device < memories.length; device++) {
            DeviceMemory memory = memories[device];
            memory.begin(plan.name());
            memory.reserve(plan.activationBytes(device), "its activations");
            memory.reserve(plan.kvCacheBytes(device), "its part of the KV cache");
            for (Shard shard : plan.shards(device)) {
                staged.shards.put(new Key(shard.tensor(), device), copy(plan.name(), shard, memory, sources, quantized, convs));
            }
        }
        return staged;
    }

    private static Staged copy(String phaseName, Shard shard, DeviceMemory memory, Map<String, Tensor> sources, Q8Weights quantized,
            Map<String, IpuBackend.FoldedConv> convs) {
        IpuBackend.FoldedConv conv = convs.get(shard.tensor());
        if (conv != null) {
            MemorySegment to = memory.allocate(shard.bytes(), shard.tensor());
            MemorySegment.copy(conv.weight(), 0, to, F32, 0, conv.weight().length);
            MemorySegment.copy(conv.bias(), 0, to, F32, 4L * conv.weight().length, conv.bias().length);
            float[] weight = to.asSlice(0, 4L * conv.weight().length).toArray(ValueLayout.JAVA_FLOAT);
            float[] bias = to.asSlice(4L * conv.weight().length).toArray(ValueLayout.JAVA_FLOAT);
            return new Staged(shard, null, null, new IpuBackend.FoldedConv(weight, bias, conv.in(), conv.out(), conv.kernel(),
                    conv.stride(), conv.padding()));
        }
        Tensor source = sources.get(shard.tensor());
        if (source == null) {
            throw new IllegalStateException("the plan stages " + shard.tensor() + " on device " + shard.device() + " in phase '"
                    + phaseName + "', which does not read it");
        }
        int rows = (int) shard.rows().length();
        int cols = (int) shard.cols().length();
        long sourceCols = source.rank() == 1 ? 1 : source.dim(1);
        MemorySegment to = memory.allocate(shard.bytes(), shard.tensor());
        return switch (shard.format()) {
            case FLOAT16 -> {
                if (source.dtype().byteSize() != 2 || source.rank() != 2) {
                    throw new IllegalArgumentException("the IPU backend stages 16-bit float matrices; " + source.name() + " is "
                            + source.describe());
                }
                copyRows(source.data(), sourceCols, shard, 2, to);
                yield new Staged(shard, new Tensor(shard.tensor(), source.dtype(), new long[] {rows, cols}, to), null, null);
            }
            case Q8 -> {
                Q8Tensor q = quantized(quantized, source);
                long values = (long) rows * cols;
                copyRows(q.values().data(), q.cols(), shard, 1, to.asSlice(0, values));
                int firstBlock = (int) (shard.cols().start() / Q8Quantizer.BLOCK);
                int blocks = Q8Quantizer.blocks(cols);
                MemorySegment scales = to.asSlice(values, (long) rows * blocks * 2);
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(q.scales().data(), ((shard.rows().start() + r) * Q8Quantizer.blocks(q.cols()) + firstBlock) * 2,
                            scales, (long) r * blocks * 2, (long) blocks * 2);
                }
                yield new Staged(shard, null, new Q8Tensor(shard.tensor(),
                        new Tensor(shard.tensor() + ".q8", DType.INT8, new long[] {rows, cols}, to.asSlice(0, values)),
                        new Tensor(shard.tensor() + ".scale", DType.FLOAT16, new long[] {rows, blocks}, scales)), null);
            }
            case FLOAT32 -> {
                boolean dequantize = source.rank() == 2;
                Q8Tensor q = dequantize ? quantized(quantized, source) : null;
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        int row = (int) shard.rows().start() + r;
                        int col = (int) shard.cols().start() + c;
                        // int8 x float16 scale is exact in float32
                        float v = dequantize ? q.get(row, col) : source.getFloat(row);
                        to.setAtIndex(F32, (long) r * cols + c, v);
                    }
                }
                yield new Staged(shard, new Tensor(shard.tensor(), DType.FLOAT32,
                        source.rank() == 1 ? new long[] {rows} : new long[] {rows, cols}, to), null, null);
            }
        };
    }

    private static Q8Tensor quantized(Q8Weights quantized, Tensor source) {
        if (quantized == null) {
            throw new IllegalStateException("the plan stages int8 blocks of " + source.name() + ", but no int8 weights were given");
        }
        return quantized.find(source).orElseThrow(() -> new IllegalStateException("the int8 cache has no " + source.name()));
    }

    /** The shard's rows and columns of a row-major [*, sourceCols] matrix of {@code bytes}-byte values, packed into {@code to}. */
    private static void copyRows(MemorySegment from, long sourceCols, Shard shard, int bytes, MemorySegment to) {
        long cols = shard.cols().length();
        if (cols == sourceCols) {
            MemorySegment.copy(from, shard.rows().start() * sourceCols * bytes, to, 0, shard.rows().length() * cols * bytes);
            return;
        }
        for (long r = 0; r < shard.rows().length(); r++) {
            MemorySegment.copy(from, ((shard.rows().start() + r) * sourceCols + shard.cols().start()) * bytes, to, r * cols * bytes,
                    cols * bytes);
        }
    }

    private Staged shard(String tensor, int device) {
        Staged s = shards.get(new Key(tensor, device));
        if (s == null) {
            throw new IllegalStateException(tensor + " is not staged on device " + device + " in phase '" + plan.name() + "'");
        }
        return s;
    }

    /** The kernel for device {@code device}'s shard of Linear weight {@code weight}, over its staged copy. */
    Linear linear(String weight, int device) {
        return linears.computeIfAbsent(new Key(weight, device), k -> {
            Staged w = shard(weight, device);
            Tensor biasSource = biases.get(weight);
            Staged b = biasSource == null ? null : shards.get(new Key(biasSource.name(), device));
            Tensor bias = b == null ? null : b.tensor();
            return w.q8() != null ? kernels.linear(w.q8(), bias) : kernels.linear(w.tensor(), bias, Split.REPLICATED);
        });
    }

    Conv2d conv(String weight) {
        return convs.computeIfAbsent(weight, k -> {
            IpuBackend.FoldedConv c = shard(weight, 0).conv();
            return kernels.conv2d(weight, c.weight(), c.bias(), c.in(), c.out(), c.kernel(), c.stride(), c.padding());
        });
    }

    /** Output features device {@code device} computes of {@code weight}. */
    Range outputs(String weight, int device) {
        Staged s = shards.get(new Key(weight, device));
        return s == null ? new Range(0, 0) : s.shard().rows();
    }

    /** Input features device {@code device} reads of {@code weight}. */
    Range inputs(String weight, int device) {
        return shard(weight, device).shard().cols();
    }

    /** The rows of {@code ids} in device {@code device}'s part of {@code table} into {@code out} [ids, d]; other rows stay 0. */
    void lookUp(String table, int device, int[] ids, float[] out) {
        Staged s = shard(table, device);
        Range rows = s.shard().rows();
        int d = (int) s.shard().cols().length();
        float[] row = new float[d];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= rows.start() && ids[i] < rows.end()) {
                kernels.embedding(s.tensor(), new int[] {(int) (ids[i] - rows.start())}, row);
                System.arraycopy(row, 0, out, i * d, d);
            }
        }
    }
}
