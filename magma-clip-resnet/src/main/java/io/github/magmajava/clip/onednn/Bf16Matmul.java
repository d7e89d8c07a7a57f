package io.github.magmajava.clip.onednn;

import io.github.magmajava.io.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/**
 * {@code y = x W^T} for a fixed number of rows on oneDNN 3 in bf16, with the weight [out, in]
 * rounded to bf16 and reordered into the matmul's preferred layout once, here: per call only x
 * is converted (float32 -> bf16, a reorder primitive) and y comes back as float32. Measures what
 * a prefill GEMM on prepared weights costs (Dnnl3GemmBenchmark); one call at a time. Native
 * memory ({@code 2 * out * in} bytes) is freed by {@link #close()}.
 */
public final class Bf16Matmul implements AutoCloseable {
    private final Dnnl dnnl;
    private final Arena arena = Arena.ofShared();
    private final int rows;
    private final int in;
    private final int out;
    private final MemorySegment x;
    private final MemorySegment y;
    private final MemorySegment[] memories;
    private final MemorySegment toBf16;
    private final MemorySegment toBf16Args;
    private final MemorySegment matmul;
    private final MemorySegment matmulArgs;
    private final String implementation;
    private final int threads;
    private boolean closed;

    /** How the weight is held and which primitive runs. */
    public enum Kind {
        /** matmul, weight reordered once into the layout it prefers. */
        MATMUL_BLOCKED,
        /** matmul, weight plain bf16 [out, in] (packed per call). */
        MATMUL_PLAIN,
        /** inner product, weight reordered once. */
        INNER_PRODUCT,
        /**
         * matmul on oneDNN's older {@code gemm:jit:bf16} (the kernel of its bf16 gemm API, which
         * PyTorch's bf16 linear calls), weight plain bf16 [out, in]; brgemm where it is missing.
         */
        MATMUL_GEMM_JIT
    }

    private Bf16Matmul(Dnnl dnnl, Tensor weight, int rows, int threads, Kind kind) {
        this.dnnl = dnnl;
        this.rows = rows;
        this.threads = threads;
        this.out = (int) weight.dim(0);
        this.in = (int) weight.dim(1);
        x = arena.allocate(4L * rows * in, 64);
        y = arena.allocate(4L * rows * out, 64);
        MemorySegment xDesc = dnnl.desc(new long[] {rows, in}, Dnnl.F32, Dnnl.TAG_AB);
        MemorySegment srcDesc = dnnl.desc(new long[] {rows, in}, Dnnl.BF16, Dnnl.TAG_AB);
        boolean ip = kind == Kind.INNER_PRODUCT;
        long[] wdims = ip ? new long[] {out, in} : new long[] {in, out};
        boolean plain = kind == Kind.MATMUL_PLAIN || kind == Kind.MATMUL_GEMM_JIT;
        MemorySegment weightsAny = dnnl.desc(wdims, Dnnl.BF16, plain ? Dnnl.TAG_BA : Dnnl.TAG_ANY);
        MemorySegment userDesc = dnnl.desc(wdims, Dnnl.F32, ip ? Dnnl.TAG_AB : Dnnl.TAG_BA);
        MemorySegment dstDesc = dnnl.desc(new long[] {rows, out}, Dnnl.F32, Dnnl.TAG_AB);
        MemorySegment pd = ip ? dnnl.innerProduct(srcDesc, weightsAny, MemorySegment.NULL, dstDesc, MemorySegment.NULL)
                : dnnl.matmul(srcDesc, weightsAny, MemorySegment.NULL, dstDesc, MemorySegment.NULL);
        if (kind == Kind.MATMUL_GEMM_JIT) {
            String first = dnnl.implementation(pd);
            while (!dnnl.implementation(pd).startsWith("gemm") && dnnl.nextImplementation(pd)) {
                // on to the next
            }
            if (!dnnl.implementation(pd).startsWith("gemm")) {
                throw new UnsupportedOperationException("no gemm implementation after " + first);
            }
        }
        implementation = dnnl.implementation(pd);
        MemorySegment xMemory = dnnl.memory(xDesc, x);
        MemorySegment src = dnnl.memory(srcDesc, null);
        MemorySegment weights = dnnl.memory(dnnl.weightsOf(pd), null);
        MemorySegment dst = dnnl.memory(dstDesc, y);
        memories = new MemorySegment[] {xMemory, src, weights, dst};
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment user = scratch.allocate(4L * in * out, 64);
            for (long i = 0; i < (long) in * out; i++) {
                user.setAtIndex(ValueLayout.JAVA_FLOAT, i, weight.getFloat(i));
            }
            MemorySegment userMemory = dnnl.memory(userDesc, user);
            MemorySegment reorderPd = dnnl.reorder(userDesc, dnnl.weightsOf(pd));
            MemorySegment reorder = dnnl.primitive(reorderPd);
            dnnl.execute(reorder, dnnl.args(scratch, Dnnl.ARG_SRC, userMemory, Dnnl.ARG_DST, weights));
            dnnl.await();
            dnnl.destroyPrimitive(reorder);
            dnnl.destroyPrimitiveDesc(reorderPd);
            dnnl.destroyMemory(userMemory);
        }
        matmul = dnnl.primitive(pd);
        matmulArgs = dnnl.args(arena, Dnnl.ARG_SRC, src, Dnnl.ARG_WEIGHTS, weights, Dnnl.ARG_DST, dst);
        MemorySegment toBf16Pd = dnnl.reorder(xDesc, srcDesc);
        toBf16 = dnnl.primitive(toBf16Pd);
        toBf16Args = dnnl.args(arena, Dnnl.ARG_SRC, xMemory, Dnnl.ARG_DST, src);
        dnnl.destroyPrimitiveDesc(toBf16Pd);
        dnnl.destroyPrimitiveDesc(pd);
        for (MemorySegment d : new MemorySegment[] {xDesc, srcDesc, weightsAny, userDesc, dstDesc}) {
            dnnl.destroyDesc(d);
        }
    }

    /** Empty where oneDNN 3 does not load. */
    public static Optional<Bf16Matmul> create(Tensor weight, int rows, int threads, Kind kind) {
        return Dnnl.load().map(dnnl -> new Bf16Matmul(dnnl, weight, rows, threads, kind));
    }

    /** The implementation oneDNN chose, e.g. {@code brg_matmul:avx512_core_bf16}. */
    public String implementation() {
        return implementation;
    }

    /** x [rows, in] -> y [rows, out], float32 on both sides. */
    public void forward(float[] xs, float[] ys) {
        synchronized (dnnl) {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            MemorySegment.copy(xs, 0, x, ValueLayout.JAVA_FLOAT, 0, rows * in);
            dnnl.setThreads(threads);
            dnnl.execute(toBf16, toBf16Args);
            dnnl.execute(matmul, matmulArgs);
            dnnl.await();
            MemorySegment.copy(y, ValueLayout.JAVA_FLOAT, 0, ys, 0, rows * out);
        }
    }

    @Override
    public void close() {
        synchronized (dnnl) {
            if (closed) {
                return;
            }
            closed = true;
            dnnl.destroyPrimitive(matmul);
            dnnl.destroyPrimitive(toBf16);
            for (MemorySegment m : memories) {
                dnnl.destroyMemory(m);
            }
            arena.close();
        }
    }
}
