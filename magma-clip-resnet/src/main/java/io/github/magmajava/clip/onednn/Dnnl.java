package io.github.magmajava.clip.onednn;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * oneDNN 3.x's C API through the FFM API: the few calls the bf16 image encoder needs. The library
 * is the one of {@code org.bytedeco:dnnl:...:linux-x86_64} (libdnnl.so.3 with its libgomp),
 * extracted once per version into the temporary directory and opened directly; javacpp's classes
 * are not used, so nd4j's javacpp 1.5.7 stays the only one on the class path. Where the resource
 * or the library is missing (another OS, another architecture) {@link #load()} is empty.
 *
 * <p>Handles are plain {@link MemorySegment} addresses; their owners destroy them.
 */
public final class Dnnl {
    /** The oneDNN release in {@code org.bytedeco:dnnl}, part of the extraction directory's name. */
    static final String VERSION = "3.13-1.5.14";
    private static final String RESOURCES = "/org/bytedeco/dnnl/linux-x86_64/";

    // dnnl_common_types.h / dnnl_types.h
    public static final int F32 = 3;
    public static final int BF16 = 2;
    public static final int TAG_ANY = 1;
    public static final int TAG_A = 2;
    public static final int TAG_AB = 3;
    public static final int TAG_ABCD = 5;
    public static final int TAG_BA = 14;
    public static final int TAG_ACDB = 22;
    static final int FORWARD_INFERENCE = 96;
    static final int CONVOLUTION_DIRECT = 0x1;
    static final int ELTWISE_RELU = 0x20;
    static final int POOLING_AVG_EXCLUDE_PADDING = 0x3ff;
    static final int QUERY_IMPL_INFO_STR = 8;
    static final int QUERY_SRC_MD = 129;
    static final int QUERY_WEIGHTS_MD = 131;
    static final int QUERY_DST_MD = 133;
    public static final int ARG_SRC = 1;
    public static final int ARG_DST = 17;
    public static final int ARG_WEIGHTS = 33;
    public static final int ARG_BIAS = 41;
    private static final int ENGINE_CPU = 1;
    private static final int STREAM_IN_ORDER = 1;
    private static final MemorySegment ALLOCATE = MemorySegment.ofAddress(-1L);

    /** {@code dnnl_exec_arg_t}: {int arg; dnnl_memory_t memory;}. */
    static final MemoryLayout EXEC_ARG = MemoryLayout.structLayout(ValueLayout.JAVA_INT, MemoryLayout.paddingLayout(4),
            ValueLayout.ADDRESS);

    private static volatile Optional<Dnnl> loaded;

    private final MethodHandle engineCreate;
    private final MethodHandle streamCreate;
    private final MethodHandle streamWait;
    private final MethodHandle memoryDescCreateWithTag;
    private final MethodHandle memoryDescDestroy;
    private final MethodHandle memoryDescGetSize;
    private final MethodHandle memoryDescEqual;
    private final MethodHandle memoryCreate;
    private final MethodHandle memoryDestroy;
    private final MethodHandle memoryGetDataHandle;
    private final MethodHandle memoryGetDesc;
    private final MethodHandle ompSetNumThreads;
    private final MethodHandle convolutionCreate;
    private final MethodHandle poolingCreate;
    private final MethodHandle matmulCreate;
    private final MethodHandle innerProductCreate;
    private final MethodHandle reorderCreate;
    private final MethodHandle primitiveDescQueryMd;
    private final MethodHandle primitiveDescQuery;
    private final MethodHandle primitiveDescDestroy;
    private final MethodHandle primitiveDescNextImpl;
    private final MethodHandle primitiveCreate;
    private final MethodHandle primitiveDestroy;
    private final MethodHandle primitiveExecute;
    private final MethodHandle attrCreate;
    private final MethodHandle attrDestroy;
    private final MethodHandle attrSetPostOps;
    private final MethodHandle postOpsCreate;
    private final MethodHandle postOpsDestroy;
    private final MethodHandle postOpsAppendSum;
    private final MethodHandle postOpsAppendEltwise;
    private final MemorySegment engine;
    private final MemorySegment stream;

    private Dnnl(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        var a = ValueLayout.ADDRESS;
        var i = ValueLayout.JAVA_INT;
        var j = ValueLayout.JAVA_LONG;
        var f = ValueLayout.JAVA_FLOAT;
        engineCreate = handle(linker, lib, "dnnl_engine_create", FunctionDescriptor.of(i, a, i, j));
        streamCreate = handle(linker, lib, "dnnl_stream_create", FunctionDescriptor.of(i, a, a, i));
        streamWait = handle(linker, lib, "dnnl_stream_wait", FunctionDescriptor.of(i, a));
        memoryDescCreateWithTag = handle(linker, lib, "dnnl_memory_desc_create_with_tag", FunctionDescriptor.of(i, a, i, a, i, i));
        memoryDescDestroy = handle(linker, lib, "dnnl_memory_desc_destroy", FunctionDescriptor.of(i, a));
        memoryDescGetSize = handle(linker, lib, "dnnl_memory_desc_get_size", FunctionDescriptor.of(j, a));
        memoryDescEqual = handle(linker, lib, "dnnl_memory_desc_equal", FunctionDescriptor.of(i, a, a));
        memoryCreate = handle(linker, lib, "dnnl_memory_create", FunctionDescriptor.of(i, a, a, a, a));
        memoryDestroy = handle(linker, lib, "dnnl_memory_destroy", FunctionDescriptor.of(i, a));
        memoryGetDataHandle = handle(linker, lib, "dnnl_memory_get_data_handle", FunctionDescriptor.of(i, a, a));
        memoryGetDesc = handle(linker, lib, "dnnl_memory_get_memory_desc", FunctionDescriptor.of(i, a, a));
        ompSetNumThreads = handle(linker, lib, "omp_set_num_threads", FunctionDescriptor.ofVoid(i));
        convolutionCreate = handle(linker, lib, "dnnl_convolution_forward_primitive_desc_create",
                FunctionDescriptor.of(i, a, a, i, i, a, a, a, a, a, a, a, a, a));
        poolingCreate = handle(linker, lib, "dnnl_pooling_forward_primitive_desc_create",
                FunctionDescriptor.of(i, a, a, i, i, a, a, a, a, a, a, a, a));
        matmulCreate = handle(linker, lib, "dnnl_matmul_primitive_desc_create", FunctionDescriptor.of(i, a, a, a, a, a, a, a));
        innerProductCreate = handle(linker, lib, "dnnl_inner_product_forward_primitive_desc_create",
                FunctionDescriptor.of(i, a, a, i, a, a, a, a, a));
        reorderCreate = handle(linker, lib, "dnnl_reorder_primitive_desc_create", FunctionDescriptor.of(i, a, a, a, a, a, a));
        primitiveDescQueryMd = handle(linker, lib, "dnnl_primitive_desc_query_md", FunctionDescriptor.of(a, a, i, i));
        primitiveDescQuery = handle(linker, lib, "dnnl_primitive_desc_query", FunctionDescriptor.of(i, a, i, i, a));
        primitiveDescNextImpl = handle(linker, lib, "dnnl_primitive_desc_next_impl", FunctionDescriptor.of(i, a));
        primitiveDescDestroy = handle(linker, lib, "dnnl_primitive_desc_destroy", FunctionDescriptor.of(i, a));
        primitiveCreate = handle(linker, lib, "dnnl_primitive_create", FunctionDescriptor.of(i, a, a));
        primitiveDestroy = handle(linker, lib, "dnnl_primitive_destroy", FunctionDescriptor.of(i, a));
        primitiveExecute = handle(linker, lib, "dnnl_primitive_execute", FunctionDescriptor.of(i, a, a, i, a));
        attrCreate = handle(linker, lib, "dnnl_primitive_attr_create", FunctionDescriptor.of(i, a));
        attrDestroy = handle(linker, lib, "dnnl_primitive_attr_destroy", FunctionDescriptor.of(i, a));
        attrSetPostOps = handle(linker, lib, "dnnl_primitive_attr_set_post_ops", FunctionDescriptor.of(i, a, a));
        postOpsCreate = handle(linker, lib, "dnnl_post_ops_create", FunctionDescriptor.of(i, a));
        postOpsDestroy = handle(linker, lib, "dnnl_post_ops_destroy", FunctionDescriptor.of(i, a));
        postOpsAppendSum = handle(linker, lib, "dnnl_post_ops_append_sum", FunctionDescriptor.of(i, a, f, i, i));
        postOpsAppendEltwise = handle(linker, lib, "dnnl_post_ops_append_eltwise", FunctionDescriptor.of(i, a, i, f, f));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_engine_create", (int) engineCreate.invokeExact(out, ENGINE_CPU, 0L));
            engine = out.get(ValueLayout.ADDRESS, 0);
            check("dnnl_stream_create", (int) streamCreate.invokeExact(out, engine, STREAM_IN_ORDER));
            stream = out.get(ValueLayout.ADDRESS, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * The library, opened once per process; empty where {@code org.bytedeco:dnnl:linux-x86_64} is
     * not on the class path or its library does not open here (not Linux x86-64, no glibc).
     */
    public static Optional<Dnnl> load() {
        Optional<Dnnl> result = loaded;
        if (result == null) {
            synchronized (Dnnl.class) {
                result = loaded;
                if (result == null) {
                    result = open();
                    loaded = result;
                }
            }
        }
        return result;
    }

    /** Why {@link #load()} is empty, for a log line; empty when it loads. */
    public static Optional<String> unavailableReason() {
        return load().isPresent() ? Optional.empty() : Optional.ofNullable(failure);
    }

    private static volatile String failure;

    private static Optional<Dnnl> open() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            failure = "oneDNN 3 is bundled for Linux x86-64 only, this is " + os + " " + arch;
            return Optional.empty();
        }
        if (Dnnl.class.getResource(RESOURCES + "libdnnl.so.3") == null) {
            failure = "org.bytedeco:dnnl:" + VERSION + ":linux-x86_64 is not on the class path";
            return Optional.empty();
        }
        try {
            Path dir = extract();
            preferPassiveOpenMpThreads();
            SymbolLookup lib = SymbolLookup.libraryLookup(dir.resolve("libdnnl.so.3"), Arena.global());
            return Optional.of(new Dnnl(lib));
        } catch (RuntimeException e) {
            failure = "oneDNN 3 did not load: " + e.getMessage();
            return Optional.empty();
        }
    }

    /**
     * OMP_WAIT_POLICY=PASSIVE (unless the user set it) before libgomp loads, as nd4j's loader
     * does: spinning OpenMP threads take the cores from everything else (measured here, the bf16
     * encoder on a loaded machine: 1.9 s per image with ACTIVE, 0.5 s with PASSIVE). Where nd4j
     * loaded first, its libgomp already serves libdnnl and this changes nothing.
     */
    @SuppressWarnings("restricted")
    private static void preferPassiveOpenMpThreads() {
        if (System.getenv("OMP_WAIT_POLICY") != null) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            int ignored = (int) setenv.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("PASSIVE"), 0);
        } catch (Throwable e) {
            // OpenMP threads will spin: slower on a busy machine, still correct
        }
    }

    /** libdnnl.so.3 and libgomp.so.1 side by side (libdnnl's RUNPATH is $ORIGIN), written once. */
    private static Path extract() {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "magma-onednn-" + VERSION + "-" + System.getProperty("user.name"));
        try {
            Files.createDirectories(dir);
            if (!ownedByUsAlone(dir)) {
                // A shared temporary directory: another user could have planted a library there.
                dir = Files.createTempDirectory("magma-onednn-" + VERSION + "-");
            }
            for (String name : new String[] {"libgomp.so.1", "libdnnl.so.3"}) {
                Path target = dir.resolve(name);
                try (InputStream in = Dnnl.class.getResourceAsStream(RESOURCES + name)) {
                    if (in == null) {
                        throw new IOException(RESOURCES + name + " is missing from the class path");
                    }
                    long size = resourceSize(name);
                    if (Files.isRegularFile(target) && size >= 0 && Files.size(target) == size) {
                        continue;
                    }
                    Path tmp = Files.createTempFile(dir, name, ".part");
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract oneDNN 3 into " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code dir} belongs to this process's user and no one else may write to it. */
    private static boolean ownedByUsAlone(Path dir) {
        try {
            var attributes = Files.readAttributes(dir, java.nio.file.attribute.PosixFileAttributes.class);
            var permissions = attributes.permissions();
            boolean ours = attributes.owner().getName().equals(System.getProperty("user.name"));
            if (ours && (permissions.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                    || permissions.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE))) {
                Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            }
            return ours;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static long resourceSize(String name) {
        try {
            var connection = Dnnl.class.getResource(RESOURCES + name).openConnection();
            return connection.getContentLengthLong();
        } catch (IOException e) {
            return -1;
        }
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new IllegalStateException("libdnnl.so.3 has no symbol " + name));
        return linker.downcallHandle(symbol, descriptor);
    }

    /** dnnl_unimplemented: no implementation for these descriptors on this CPU. */
    private static final int UNIMPLEMENTED = 3;

    /**
     * @throws UnsupportedOperationException when oneDNN has no implementation for the call here
     * @throws IllegalStateException         for any other failure
     */
    static void check(String call, int status) {
        if (status == UNIMPLEMENTED) {
            throw new UnsupportedOperationException(call + ": oneDNN has no implementation for it on this CPU");
        }
        if (status != 0) {
            throw new IllegalStateException(call + " failed with oneDNN status " + status);
        }
    }

    private static IllegalStateException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    public MemorySegment engine() {
        return engine;
    }

    /** A memory descriptor (destroy with {@link #destroyDesc}). */
    public MemorySegment desc(long[] dims, int dataType, int tag) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment d = dims(arena, dims);
            check("dnnl_memory_desc_create_with_tag", (int) memoryDescCreateWithTag.invokeExact(out, dims.length, d, dataType, tag));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyDesc(MemorySegment desc) {
        try {
            check("dnnl_memory_desc_destroy", (int) memoryDescDestroy.invokeExact(desc));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public long size(MemorySegment desc) {
        try {
            return (long) memoryDescGetSize.invokeExact(desc);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public boolean same(MemorySegment a, MemorySegment b) {
        try {
            return (int) memoryDescEqual.invokeExact(a, b) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A memory object on {@code handle} ({@code null}: oneDNN allocates and owns it). */
    public MemorySegment memory(MemorySegment desc, MemorySegment handle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment data = handle == null ? ALLOCATE : handle;
            check("dnnl_memory_create", (int) memoryCreate.invokeExact(out, desc, engine, data));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The data of a memory object, {@code bytes} long. */
    public MemorySegment data(MemorySegment memory, long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_memory_get_data_handle", (int) memoryGetDataHandle.invokeExact(memory, out));
            return out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The descriptor of a memory object (owned by it: do not destroy). */
    public MemorySegment memoryDesc(MemorySegment memory) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_memory_get_memory_desc", (int) memoryGetDesc.invokeExact(memory, out));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * OpenMP threads for the primitives this thread runs next ({@code omp_set_num_threads} sets
     * the calling thread's value).
     */
    public void setThreads(int threads) {
        try {
            ompSetNumThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyMemory(MemorySegment memory) {
        try {
            check("dnnl_memory_destroy", (int) memoryDestroy.invokeExact(memory));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Post-ops: an optional sum into dst (residual), then an optional ReLU; null when neither. */
    public MemorySegment attr(boolean sum, boolean relu) {
        if (!sum && !relu) {
            return MemorySegment.NULL;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_post_ops_create", (int) postOpsCreate.invokeExact(out));
            MemorySegment ops = out.get(ValueLayout.ADDRESS, 0);
            if (sum) {
                check("dnnl_post_ops_append_sum", (int) postOpsAppendSum.invokeExact(ops, 1.0f, 0, 0));
            }
            if (relu) {
                check("dnnl_post_ops_append_eltwise", (int) postOpsAppendEltwise.invokeExact(ops, ELTWISE_RELU, 0.0f, 0.0f));
            }
            check("dnnl_primitive_attr_create", (int) attrCreate.invokeExact(out));
            MemorySegment attr = out.get(ValueLayout.ADDRESS, 0);
            check("dnnl_primitive_attr_set_post_ops", (int) attrSetPostOps.invokeExact(attr, ops));
            check("dnnl_post_ops_destroy", (int) postOpsDestroy.invokeExact(ops));
            return attr;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyAttr(MemorySegment attr) {
        if (!attr.equals(MemorySegment.NULL)) {
            try {
                check("dnnl_primitive_attr_destroy", (int) attrDestroy.invokeExact(attr));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** Forward-inference convolution descriptor (square kernel, symmetric padding, no dilation). */
    public MemorySegment convolution(MemorySegment src, MemorySegment weights, MemorySegment bias, MemorySegment dst, int stride,
            int padding, MemorySegment attr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment strides = dims(arena, new long[] {stride, stride});
            MemorySegment dilates = dims(arena, new long[] {0, 0});
            MemorySegment pad = dims(arena, new long[] {padding, padding});
            check("dnnl_convolution_forward_primitive_desc_create", (int) convolutionCreate.invokeExact(out, engine,
                    FORWARD_INFERENCE, CONVOLUTION_DIRECT, src, weights, bias, dst, strides, dilates, pad, pad, attr));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Average pooling with a k x k window and stride k, no padding. */
    public MemorySegment avgPool(MemorySegment src, MemorySegment dst, int k) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment kk = dims(arena, new long[] {k, k});
            MemorySegment zero = dims(arena, new long[] {0, 0});
            check("dnnl_pooling_forward_primitive_desc_create", (int) poolingCreate.invokeExact(out, engine, FORWARD_INFERENCE,
                    POOLING_AVG_EXCLUDE_PADDING, src, dst, kk, kk, zero, zero, zero, MemorySegment.NULL));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment matmul(MemorySegment src, MemorySegment weights, MemorySegment bias, MemorySegment dst, MemorySegment attr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_matmul_primitive_desc_create", (int) matmulCreate.invokeExact(out, engine, src, weights, bias, dst, attr));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Forward-inference inner product: src [M, K], weights [N, K], dst [M, N]. */
    public MemorySegment innerProduct(MemorySegment src, MemorySegment weights, MemorySegment bias, MemorySegment dst,
            MemorySegment attr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_inner_product_forward_primitive_desc_create",
                    (int) innerProductCreate.invokeExact(out, engine, FORWARD_INFERENCE, src, weights, bias, dst, attr));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment reorder(MemorySegment src, MemorySegment dst) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_reorder_primitive_desc_create",
                    (int) reorderCreate.invokeExact(out, src, engine, dst, engine, MemorySegment.NULL));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A memory descriptor a primitive descriptor chose (owned by it: do not destroy). */
    public MemorySegment queryMd(MemorySegment pd, int what) {
        try {
            return (MemorySegment) primitiveDescQueryMd.invokeExact(pd, what, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment srcOf(MemorySegment pd) {
        return queryMd(pd, QUERY_SRC_MD);
    }

    public MemorySegment weightsOf(MemorySegment pd) {
        return queryMd(pd, QUERY_WEIGHTS_MD);
    }

    public MemorySegment dstOf(MemorySegment pd) {
        return queryMd(pd, QUERY_DST_MD);
    }

    /** The implementation oneDNN picked, e.g. {@code brg_conv_fwd:avx512_core_bf16}. */
    public String implementation(MemorySegment pd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_primitive_desc_query", (int) primitiveDescQuery.invokeExact(pd, QUERY_IMPL_INFO_STR, 0, out));
            return out.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Moves {@code pd} on to oneDNN's next implementation for the same descriptors; false (pd
     * unchanged) when there is none.
     */
    public boolean nextImplementation(MemorySegment pd) {
        try {
            int status = (int) primitiveDescNextImpl.invokeExact(pd);
            if (status == LAST_IMPL_REACHED) {
                return false;
            }
            check("dnnl_primitive_desc_next_impl", status);
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final int LAST_IMPL_REACHED = 4;

    public void destroyPrimitiveDesc(MemorySegment pd) {
        try {
            check("dnnl_primitive_desc_destroy", (int) primitiveDescDestroy.invokeExact(pd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment primitive(MemorySegment pd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check("dnnl_primitive_create", (int) primitiveCreate.invokeExact(out, pd));
            return out.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyPrimitive(MemorySegment primitive) {
        try {
            check("dnnl_primitive_destroy", (int) primitiveDestroy.invokeExact(primitive));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Arguments for {@link #execute}: pairs of (DNNL_ARG_*, memory), kept for many calls. */
    public MemorySegment args(Arena arena, Object... pairs) {
        int n = pairs.length / 2;
        MemorySegment args = arena.allocate(EXEC_ARG, n);
        for (int k = 0; k < n; k++) {
            args.set(ValueLayout.JAVA_INT, 16L * k, (Integer) pairs[2 * k]);
            args.set(ValueLayout.ADDRESS, 16L * k + 8, (MemorySegment) pairs[2 * k + 1]);
        }
        return args;
    }

    /** Runs a primitive on the stream (in order; {@link #await} waits for it). */
    public void execute(MemorySegment primitive, MemorySegment args) {
        try {
            check("dnnl_primitive_execute", (int) primitiveExecute.invokeExact(primitive, stream, (int) (args.byteSize() / 16), args));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void await() {
        try {
            check("dnnl_stream_wait", (int) streamWait.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static MemorySegment dims(Arena arena, long[] values) {
        MemorySegment d = arena.allocate(ValueLayout.JAVA_LONG, 12);
        for (int k = 0; k < values.length; k++) {
            d.setAtIndex(ValueLayout.JAVA_LONG, k, values[k]);
        }
        return d;
    }
}
