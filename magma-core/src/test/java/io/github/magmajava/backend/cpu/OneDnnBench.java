package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.DType;
import io.github.magmajava.io.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The scratch measurement behind docs/nd4j.md (not a test, not JMH): GFLOP/s of the CPU backend's
 * Linear at GPT-J shapes (fp16 weights, conversion included) and of every RN50x16 convolution at
 * 384, per {@link OneDnnMode}; best of {@code reps} calls. Run from the repository root after
 * {@code tools/mvn -q -o -pl magma-core test-compile}:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
 *   -cp magma-core/target/test-classes:magma-core/target/classes:$(cat cp.txt) \
 *   io.github.magmajava.backend.cpu.OneDnnBench linear 3 OFF FP32 BF16
 * </pre>
 *
 * with {@code cp.txt} from {@code tools/mvn -q -o -pl magma-core dependency:build-classpath
 * -Dmdep.outputFile=$PWD/cp.txt}; {@code conv} instead of {@code linear} for the convolutions.
 */
final class OneDnnBench {
    private static final int[][] LINEAR_SHAPES = {
        {160, 4096, 4096}, {160, 4096, 16384}, {160, 16384, 4096}, {160, 4096, 1024}, {160, 1024, 4096}, {144, 3072, 4096},
        {5, 4096, 4096}, {8, 4096, 4096}, {16, 4096, 4096}};

    private record ConvShape(String name, int in, int out, int k, int stride, int size) {
        int outSize() {
            return (size + 2 * (k / 2) - k) / stride + 1;
        }

        double flops() {
            return 2.0 * out * in * k * k * outSize() * outSize();
        }
    }

    private OneDnnBench() {
    }

    public static void main(String[] args) {
        int reps = Integer.parseInt(args[1]);
        List<CpuBackend> backends = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            backends.add(CpuBackend.withThreads(Runtime.getRuntime().availableProcessors(), OneDnnMode.valueOf(args[i])));
        }
        if (args[0].equals("linear")) {
            linear(backends, reps);
        } else {
            conv(backends, reps);
        }
        backends.forEach(CpuBackend::close);
    }

    private static void linear(List<CpuBackend> backends, int reps) {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int[] s : LINEAR_SHAPES) {
            int m = s[0], k = s[1], n = s[2];
            try (Arena arena = Arena.ofShared()) { // shared: the workers read the weight
                MemorySegment w = arena.allocate((long) n * k * 2, 64);
                for (long i = 0; i < (long) n * k; i++) {
                    w.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                            Float.floatToFloat16((float) rnd.nextGaussian() * 0.02f));
                }
                Tensor weight = new Tensor("w", DType.FLOAT16, new long[] {n, k}, w);
                float[] x = gaussian(rnd, m * k);
                float[] y = new float[m * n];
                StringBuilder line = new StringBuilder(String.format("[%3d x %5d] x [%5d x %5d]^T", m, k, n, k));
                for (CpuBackend b : backends) {
                    Linear l = b.linear(weight, null, Split.REPLICATED);
                    double best = best(reps, () -> l.forward(x, m, y));
                    line.append(String.format(" | %s %.4f s %6.1f GF/s", b.oneDnnMode(), best, 2.0 * m * k * n / best / 1e9));
                }
                System.out.println(line);
            }
        }
    }

    private static void conv(List<CpuBackend> backends, int reps) {
        List<ConvShape> shapes = new ArrayList<>(List.of(new ConvShape("stem1", 3, 48, 3, 2, 384),
                new ConvShape("stem2", 48, 48, 3, 1, 192), new ConvShape("stem3", 48, 96, 3, 1, 192)));
        int[] layers = {6, 8, 18, 8};
        int inplanes = 96;
        int size = 96;
        for (int s = 0; s < 4; s++) {
            int planes = 96 << s;
            for (int b = 0; b < layers[s]; b++) {
                int after = b == 0 && s > 0 ? size / 2 : size;
                String name = "layer" + (s + 1) + "." + b;
                shapes.add(new ConvShape(name + ".conv1", inplanes, planes, 1, 1, size));
                shapes.add(new ConvShape(name + ".conv2", planes, planes, 3, 1, size));
                shapes.add(new ConvShape(name + ".conv3", planes, 4 * planes, 1, 1, after));
                if (b == 0) {
                    shapes.add(new ConvShape(name + ".downsample", inplanes, 4 * planes, 1, 1, after));
                }
                inplanes = 4 * planes;
                size = after;
            }
        }
        SplittableRandom rnd = new SplittableRandom(3);
        double flops = 0;
        double[] total = new double[backends.size()];
        for (ConvShape c : shapes) {
            float[] weight = gaussian(rnd, c.out * c.in * c.k * c.k);
            float[] bias = gaussian(rnd, c.out);
            float[] x = gaussian(rnd, c.in * c.size * c.size);
            float[] y = new float[c.out * c.outSize() * c.outSize()];
            StringBuilder line = new StringBuilder(String.format("%-20s %4d -> %4d k%d s%d @%3d", c.name, c.in, c.out, c.k, c.stride, c.size));
            for (int i = 0; i < backends.size(); i++) {
                Conv2d conv = backends.get(i).conv2d("conv", weight, bias, c.in, c.out, c.k, c.stride, c.k / 2);
                double best = best(reps, () -> conv.forward(x, c.size, c.size, y));
                total[i] += best;
                line.append(String.format(" | %s %.4f s %6.1f GF/s", backends.get(i).oneDnnMode(), best, c.flops() / best / 1e9));
            }
            flops += c.flops();
            System.out.println(line);
        }
        StringBuilder sum = new StringBuilder(String.format("all %d convolutions, %.1f GFLOP", shapes.size(), flops / 1e9));
        for (int i = 0; i < backends.size(); i++) {
            sum.append(String.format(" | %s %.3f s %6.1f GF/s", backends.get(i).oneDnnMode(), total[i], flops / total[i] / 1e9));
        }
        System.out.println(sum);
    }

    private static double best(int reps, Runnable call) {
        double best = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long start = System.nanoTime();
            call.run();
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        return best;
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        return v;
    }
}
