package io.github.magmajava.backend.cpu;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.indexer.Bfloat16Indexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * nd4j's native library, loaded at most once per process, and the few calls the oneDNN kernels
 * make into it. Which of nd4j's oneDNN builds loads is chosen from the CPU's flags before anything
 * is loaded ({@link Nd4jBuild}): a build compiled for instructions the CPU lacks would die on an
 * illegal instruction. Where no build fits (another OS or CPU, no jar on the class path) or
 * loading fails, one log line is written and {@link #get()} is empty, so the CPU backend keeps its
 * pure-Java kernels and never crashes.
 *
 * <p>Big buffers are our own native memory (FFM arenas) viewed as nd4j arrays without a copy:
 * nd4j neither owns nor frees them. Only the oneDNN kernel classes name nd4j types, and only
 * after {@link Nd4jKernels#open} found the runtime, so the CPU backend links without the jars.
 *
 * <p>oneDNN runs on OpenMP (the libgomp bundled with nd4j), whose thread count is a per-thread
 * setting: every call sets it on the calling thread to the thread count of the backend making
 * the call, so backends with different counts can share the one runtime.
 */
final class Nd4jRuntime {
    private static final System.Logger LOG = System.getLogger(Nd4jRuntime.class.getName());
    /** Where javacpp finds a build's libraries inside its jar. */
    private static final String BINDINGS = "org/nd4j/linalg/cpu/nativecpu/bindings/";
    /**
     * javacpp refuses allocations once the process's resident size exceeds this (default: a
     * multiple of -Xmx); a mapped 13 GB checkpoint counts as resident, so the limit is lifted
     * unless the user set it.
     */
    private static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";
    private static final String OMP_WAIT_POLICY = "OMP_WAIT_POLICY";

    private final Duration loadTime;
    private final String buildInfo;
    private final String classifier;
    private final boolean bf16;

    private Nd4jRuntime(Duration loadTime, String buildInfo, String classifier, boolean bf16) {
        this.loadTime = loadTime;
        this.buildInfo = buildInfo;
        this.classifier = classifier;
        this.bf16 = bf16;
    }

    /** The loaded runtime, or empty (after one log line) where it cannot run. */
    static Optional<Nd4jRuntime> get() {
        return Holder.RUNTIME;
    }

    /** How long the first use took: extracting (first run only) and linking libnd4jcpu, the self-tests. */
    Duration loadTime() {
        return loadTime;
    }

    String buildInfo() {
        return buildInfo;
    }

    /** The nd4j build loaded, as its Maven classifier: {@code linux-x86_64-onednn-avx2} ... */
    String classifier() {
        return classifier;
    }

    /**
     * Whether oneDNN runs bfloat16 matmuls here: oneDNN 2.3 has them only on AVX-512 CPUs (natively
     * with AVX512-BF16), whichever nd4j build is loaded.
     */
    boolean supportsBf16() {
        return bf16;
    }

    private static final class Holder {
        static final Optional<Nd4jRuntime> RUNTIME = load();
    }

    private static Optional<Nd4jRuntime> load() {
        String platform = Nd4jBuild.platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
        String requestedBy = Nd4jBuild.PROPERTY;
        String requested = System.getProperty(requestedBy);
        if (requested == null || requested.isBlank()) {
            requestedBy = Nd4jBuild.JAVACPP_EXTENSION;
            requested = System.getProperty(requestedBy);
        }
        Nd4jBuild.Choice choice = Nd4jBuild.choose(platform, cpuFlags(), requested, requestedBy, Nd4jRuntime::onClassPath);
        if (!(choice instanceof Nd4jBuild.Load build)) {
            return unavailable(((Nd4jBuild.Refuse) choice).reason());
        }
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
        preferPassiveOpenMpThreads();
        long start = System.nanoTime();
        try {
            System.setProperty(Nd4jBuild.JAVACPP_EXTENSION, build.build().extension());
            // javacpp reads its properties once; if another library set it up earlier, our choice came too late
            String effective = Loader.loadProperties().getProperty("platform.extension");
            if (!build.build().extension().equals(effective)) {
                return unavailable("javacpp was set up before nd4j's build was chosen (platform extension " + effective
                        + "); start the JVM with -D" + Nd4jBuild.JAVACPP_EXTENSION + "=" + build.build().extension());
            }
            selfTest();
            String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
            if (!info.contains("HAVE_ONEDNN")) {
                return unavailable("the loaded libnd4jcpu is not a oneDNN build");
            }
            boolean bf16 = bf16Works();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            LOG.log(System.Logger.Level.DEBUG, () -> "nd4j " + build.classifier() + " loaded in " + took.toMillis() + " ms"
                    + (bf16 ? "" : "; no bfloat16 matmul on this CPU"));
            return Optional.of(new Nd4jRuntime(took, info, build.classifier(), bf16));
        } catch (LinkageError | RuntimeException e) {
            return unavailable(build.classifier() + ": " + e);
        }
    }

    private static Optional<Nd4jRuntime> unavailable(String reason) {
        LOG.log(System.Logger.Level.WARNING, "oneDNN kernels (nd4j) unavailable, the CPU backend uses its pure-Java kernels: " + reason);
        return Optional.empty();
    }

    /** Whether the jar of an nd4j-native classifier is on the class path (its JNI library, as javacpp looks for it). */
    private static boolean onClassPath(String classifier) {
        ClassLoader loader = Nd4jRuntime.class.getClassLoader();
        return loader != null && loader.getResource(BINDINGS + classifier + "/" + System.mapLibraryName("jnind4jcpu")) != null;
    }

    /**
     * Makes OpenMP (the libgomp that nd4j bundles, which reads its environment once when loaded)
     * put its idle threads to sleep instead of spinning, unless the user set OMP_WAIT_POLICY.
     * Spinning threads take the cores from the Java workers that run everything between two
     * oneDNN calls: measured here, the RN50x16 encoder took 5.6 s with spinning, 1.4-2.5 s without.
     */
    @SuppressWarnings("restricted") // a downcall to libc's setenv; the JVM runs with --enable-native-access
    private static void preferPassiveOpenMpThreads() {
        if (System.getenv(OMP_WAIT_POLICY) != null) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            int status = (int) setenv.invokeExact(arena.allocateFrom(OMP_WAIT_POLICY), arena.allocateFrom("PASSIVE"), 0);
            if (status != 0) {
                LOG.log(System.Logger.Level.DEBUG, "setenv(" + OMP_WAIT_POLICY + ") failed; OpenMP threads will spin");
            }
        } catch (Throwable e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "cannot set " + OMP_WAIT_POLICY + " (" + e + "); OpenMP threads will spin");
        }
    }

    /**
     * The CPU's feature flags under their Linux names: the first "flags" line of /proc/cpuinfo, or
     * where that cannot be read (macOS, Windows), what the JVM found ({@link #jvmCpuFlags}).
     */
    static Set<String> cpuFlags() {
        try {
            Path cpuinfo = Path.of("/proc/cpuinfo");
            if (Files.isReadable(cpuinfo)) {
                Optional<String> flags = Files.readAllLines(cpuinfo).stream().filter(line -> line.startsWith("flags")).findFirst();
                if (flags.isPresent()) {
                    return procCpuinfoFlags(flags.get());
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the JVM's view
        }
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return jvmCpuFlags(Integer.parseInt(vm.getVMOption("UseAVX").getValue()), Boolean.parseBoolean(vm.getVMOption("UseFMA").getValue()));
        } catch (LinkageError | RuntimeException e) {
            return Set.of();
        }
    }

    /** The flags of a /proc/cpuinfo "flags : fpu vme ..." line. */
    static Set<String> procCpuinfoFlags(String line) {
        return Set.copyOf(Arrays.asList(line.substring(line.indexOf(':') + 1).strip().split("\\s+")));
    }

    /**
     * The flags HotSpot's own CPU detection vouches for ({@code -XX:UseAVX}, {@code -XX:UseFMA}),
     * under their Linux names. Deliberately no AVX-512: UseAVX=3 says only avx512f, and HotSpot
     * lowers it on some AVX-512 CPUs; so off Linux the AVX2 build is the best chosen. f16c is
     * assumed with AVX2: every CPU with AVX2 has it.
     */
    static Set<String> jvmCpuFlags(int useAvx, boolean useFma) {
        Set<String> flags = new TreeSet<>();
        if (useAvx >= 1) {
            flags.add("avx");
        }
        if (useAvx >= 2) {
            flags.addAll(List.of("avx2", "f16c"));
            if (useFma) {
                flags.add("fma");
            }
        }
        return Set.copyOf(flags);
    }

    /**
     * Makes the calling thread's oneDNN calls use {@code threads} OpenMP threads: libgomp keeps
     * the count per calling thread (omp_set_num_threads), and oneDNN sizes its teams from it.
     */
    static void useThreads(int threads) {
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }

    /** The OpenMP thread count oneDNN calls made from this thread get (omp_get_max_threads). */
    static int openMpThreads() {
        return NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    }

    /** [2, 3] x [2, 3]^T on wrapped memory, checked exactly: proves loading, wrapping and the op call. */
    private static void selfTest() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(6 * 4, 64);
            MemorySegment c = arena.allocate(4 * 4, 64);
            for (int i = 0; i < 6; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, i + 1);
            }
            matmulTransposedB(view(a, DataType.FLOAT, 2, 3), view(a, DataType.FLOAT, 2, 3), view(c, DataType.FLOAT, 2, 2), 1);
            float[] expected = {14, 32, 32, 77};
            for (int i = 0; i < 4; i++) {
                if (c.getAtIndex(ValueLayout.JAVA_FLOAT, i) != expected[i]) {
                    throw new IllegalStateException("nd4j matmul self-test gave " + c.getAtIndex(ValueLayout.JAVA_FLOAT, i)
                            + " at " + i + ", expected " + expected[i]);
                }
            }
        }
    }

    /** Whether a [2, 2] x [2, 2]^T bfloat16 matmul runs (oneDNN 2.3 refuses it without AVX-512). */
    private static boolean bf16Works() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(4 * 2, 64);
            MemorySegment c = arena.allocate(4 * 2, 64);
            for (int i = 0; i < 4; i++) {
                a.setAtIndex(ValueLayout.JAVA_SHORT, i, Nd4jLinear.bfloat16(i + 1));
            }
            matmulTransposedB(view(a, DataType.BFLOAT16, 2, 2), view(a, DataType.BFLOAT16, 2, 2), view(c, DataType.BFLOAT16, 2, 2), 1);
            return Float.intBitsToFloat(c.getAtIndex(ValueLayout.JAVA_SHORT, 3) << 16) == 25f; // [3, 4] . [3, 4]
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * A c-order nd4j array over {@code segment} (FLOAT or BFLOAT16), without a copy. The array
     * is valid only while the segment is: callers keep both within one call.
     */
    static INDArray view(MemorySegment segment, DataType type, long... shape) {
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        DataBuffer buffer = switch (type) {
            case FLOAT -> {
                FloatPointer p = new FloatPointer(segment.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer());
                yield Nd4j.createBuffer(p, DataType.FLOAT, length, FloatIndexer.create(p));
            }
            case BFLOAT16 -> {
                ShortPointer p = new ShortPointer(segment.asByteBuffer().order(ByteOrder.nativeOrder()).asShortBuffer());
                yield Nd4j.createBuffer(p, DataType.BFLOAT16, length, Bfloat16Indexer.create(p));
            }
            default -> throw new IllegalArgumentException("no nd4j view for " + type);
        };
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        return Nd4j.create(buffer, shape, stride, 0, 'c', type);
    }

    /**
     * {@code c = a b^T} through the {@code matmul} custom op (transpose flags 0, 1), which nd4j
     * hands to oneDNN for float32 in and out, or bfloat16 in and out. {@code INDArray.mmul} would
     * go through OpenBLAS instead. oneDNN uses {@code threads} OpenMP threads.
     */
    static void matmulTransposedB(INDArray a, INDArray b, INDArray c, int threads) {
        useThreads(threads);
        Nd4j.exec(DynamicCustomOp.builder("matmul").addInputs(a, b).addOutputs(c).addIntegerArguments(0, 1).build());
    }

    /**
     * A float32 NCHW convolution with an [out, in, k, k] weight and a bias through the
     * {@code conv2d} custom op (oneDNN): integer arguments kH, kW, sH, sW, pH, pW, dilation 1, 1,
     * explicit padding (0), NCHW (0), weights OIHW (1). oneDNN uses {@code threads} OpenMP threads.
     */
    static void conv2d(INDArray x, INDArray weight, INDArray bias, INDArray y, int kernel, int stride, int padding, int threads) {
        useThreads(threads);
        Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(x, weight, bias).addOutputs(y)
                .addIntegerArguments(kernel, kernel, stride, stride, padding, padding, 1, 1, 0, 0, 1).build());
    }
}
