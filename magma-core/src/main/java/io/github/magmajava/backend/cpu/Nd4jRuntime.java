package io.github.magmajava.backend.cpu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.FloatPointer;
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
 * nd4j's native library (the {@code linux-x86_64-onednn-avx512} build), loaded at most once per
 * process, and the few calls the oneDNN kernels make into it. Loading is refused up front where
 * that build cannot run (another OS, a CPU without AVX-512: it would die on an illegal
 * instruction); any failure to load leaves one log line and an empty {@link #get()}, so the CPU
 * backend keeps its pure-Java kernels and never crashes.
 *
 * <p>Big buffers are our own native memory (FFM arenas) viewed as nd4j arrays without a copy:
 * nd4j neither owns nor frees them. Only the oneDNN kernel classes name nd4j types, and only
 * after {@link Nd4jKernels#open} found the runtime, so the CPU backend links without the jars.
 */
final class Nd4jRuntime {
    private static final System.Logger LOG = System.getLogger(Nd4jRuntime.class.getName());
    /** What the avx512 build of libnd4j is compiled for (Skylake-X and later, Zen 4 and later). */
    static final Set<String> REQUIRED_CPU_FLAGS = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    /**
     * javacpp refuses allocations once the process's resident size exceeds this (default: a
     * multiple of -Xmx); a mapped 13 GB checkpoint counts as resident, so the limit is lifted
     * unless the user set it.
     */
    private static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";
    private static final String OMP_WAIT_POLICY = "OMP_WAIT_POLICY";

    private final Duration loadTime;
    private final String buildInfo;

    private Nd4jRuntime(Duration loadTime, String buildInfo) {
        this.loadTime = loadTime;
        this.buildInfo = buildInfo;
    }

    /** The loaded runtime, or empty (after one log line) where it cannot run. */
    static Optional<Nd4jRuntime> get() {
        return Holder.RUNTIME;
    }

    /** How long the first use took: extracting (first run only) and linking libnd4jcpu, the self-test. */
    Duration loadTime() {
        return loadTime;
    }

    String buildInfo() {
        return buildInfo;
    }

    private static final class Holder {
        static final Optional<Nd4jRuntime> RUNTIME = load();
    }

    private static Optional<Nd4jRuntime> load() {
        Optional<String> refusal = unsupportedReason(System.getProperty("os.name", ""), System.getProperty("os.arch", ""), cpuFlags());
        if (refusal.isPresent()) {
            return unavailable(refusal.get());
        }
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
        preferPassiveOpenMpThreads();
        long start = System.nanoTime();
        try {
            selfTest();
            String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
            if (!info.contains("HAVE_ONEDNN")) {
                return unavailable("the loaded libnd4jcpu is not a oneDNN build");
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            LOG.log(System.Logger.Level.DEBUG, () -> "nd4j oneDNN kernels loaded in " + took.toMillis() + " ms");
            return Optional.of(new Nd4jRuntime(took, info));
        } catch (LinkageError | RuntimeException e) {
            return unavailable(e.toString());
        }
    }

    private static Optional<Nd4jRuntime> unavailable(String reason) {
        LOG.log(System.Logger.Level.WARNING, "oneDNN kernels (nd4j) unavailable, the CPU backend uses its pure-Java kernels: " + reason);
        return Optional.empty();
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

    /** Why the onednn-avx512 build cannot run here, if it cannot. */
    static Optional<String> unsupportedReason(String osName, String osArch, Set<String> cpuFlags) {
        if (!osName.startsWith("Linux") || !(osArch.equals("amd64") || osArch.equals("x86_64"))) {
            return Optional.of("nd4j's oneDNN build is for linux-x86_64, this is " + osName + " " + osArch);
        }
        Set<String> missing = new TreeSet<>(REQUIRED_CPU_FLAGS);
        missing.removeAll(cpuFlags);
        return missing.isEmpty() ? Optional.empty() : Optional.of("the CPU lacks " + String.join(", ", missing));
    }

    /** The flags of the first processor in /proc/cpuinfo; empty when unreadable. */
    static Set<String> cpuFlags() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(line -> line.startsWith("flags"))
                    .findFirst()
                    .map(line -> Set.copyOf(Arrays.asList(line.substring(line.indexOf(':') + 1).trim().split("\\s+"))))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /** [2, 3] x [2, 3]^T on wrapped memory, checked exactly: proves loading, wrapping and the op call. */
    private static void selfTest() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(6 * 4, 64);
            MemorySegment c = arena.allocate(4 * 4, 64);
            for (int i = 0; i < 6; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, i + 1);
            }
            matmulTransposedB(view(a, DataType.FLOAT, 2, 3), view(a, DataType.FLOAT, 2, 3), view(c, DataType.FLOAT, 2, 2));
            float[] expected = {14, 32, 32, 77};
            for (int i = 0; i < 4; i++) {
                if (c.getAtIndex(ValueLayout.JAVA_FLOAT, i) != expected[i]) {
                    throw new IllegalStateException("nd4j matmul self-test gave " + c.getAtIndex(ValueLayout.JAVA_FLOAT, i)
                            + " at " + i + ", expected " + expected[i]);
                }
            }
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
     * go through OpenBLAS instead.
     */
    static void matmulTransposedB(INDArray a, INDArray b, INDArray c) {
        Nd4j.exec(DynamicCustomOp.builder("matmul").addInputs(a, b).addOutputs(c).addIntegerArguments(0, 1).build());
    }

    /**
     * A float32 NCHW convolution with an [out, in, k, k] weight and a bias through the
     * {@code conv2d} custom op (oneDNN): integer arguments kH, kW, sH, sW, pH, pW, dilation 1, 1,
     * explicit padding (0), NCHW (0), weights OIHW (1).
     */
    static void conv2d(INDArray x, INDArray weight, INDArray bias, INDArray y, int kernel, int stride, int padding) {
        Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(x, weight, bias).addOutputs(y)
                .addIntegerArguments(kernel, kernel, stride, stride, padding, padding, 1, 1, 0, 0, 1).build());
    }
}
