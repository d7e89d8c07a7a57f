package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.AbstractConv2d;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A float32 convolution on oneDNN (nd4j's {@code conv2d} op, NCHW, weights OIHW). The folded
 * weights and bias live in native memory owned by this object (freed by the garbage collector
 * once it is unreachable, so a call in flight can never see them freed); activations pass through
 * the backend's scratch buffers. nd4j has no bf16 convolution, so this stays float32 in every mode.
 * Should the native call ever fail, the convolution logs once and continues on {@link Im2colConv}.
 */
final class Nd4jConv extends AbstractConv2d {
    private final MemorySegment weights;
    private final MemorySegment bias;
    private final Nd4jKernels kernels;
    private volatile Im2colConv fallback;

    Nd4jConv(float[] weight, float[] bias, int in, int out, int kernel, int stride, int padding, Nd4jKernels kernels,
            HugePages.Slab memory) {
        super(weight, bias, in, out, kernel, stride, padding);
        this.weights = memory.allocate(4L * weight.length);
        MemorySegment.copy(weight, 0, weights, ValueLayout.JAVA_FLOAT, 0, weight.length);
        this.bias = memory.allocate(4L * out);
        MemorySegment.copy(bias, 0, this.bias, ValueLayout.JAVA_FLOAT, 0, out);
        this.kernels = kernels;
    }

    @Override
    public void forward(float[] x, int h, int w, float[] y) {
        int in = inChannels();
        int out = outChannels();
        int kernel = kernel();
        int stride = stride();
        int padding = padding();
        int oh = outSize(h);
        int ow = outSize(w);
        if (h < 1 || w < 1 || oh < 1 || ow < 1) {
            throw new IllegalArgumentException("conv2d: input [" + in + ", " + h + ", " + w + "] is smaller than kernel "
                    + kernel + " with padding " + padding);
        }
        long inputs = (long) in * h * w;
        long outputs = (long) out * oh * ow;
        if (x.length < inputs || y.length < outputs) {
            throw new IllegalArgumentException("conv2d: buffers too small for [" + in + ", " + h + ", " + w + "] -> ["
                    + out + ", " + oh + ", " + ow + "]");
        }
        Im2colConv java = fallback;
        if (java != null) {
            java.forward(x, h, w, y);
            return;
        }
        Nd4jScratch scratch = kernels.borrow();
        try {
            MemorySegment xs = scratch.buffer(Nd4jScratch.INPUT, 4 * inputs);
            MemorySegment.copy(x, 0, xs, ValueLayout.JAVA_FLOAT, 0, (int) inputs);
            MemorySegment ys = scratch.buffer(Nd4jScratch.OUTPUT, 4 * outputs);
            Nd4jRuntime.conv2d(Nd4jRuntime.view(xs, DataType.FLOAT, 1, in, h, w),
                    Nd4jRuntime.view(weights, DataType.FLOAT, out, in, kernel, kernel),
                    Nd4jRuntime.view(bias, DataType.FLOAT, out),
                    Nd4jRuntime.view(ys, DataType.FLOAT, 1, out, oh, ow), kernel, stride, padding, kernels.threads());
            MemorySegment.copy(ys, ValueLayout.JAVA_FLOAT, 0, y, 0, (int) outputs);
        } catch (RuntimeException e) {
            kernels.reportFailure("conv2d [" + in + ", " + h + ", " + w + "] -> [" + out + ", " + oh + ", " + ow + "]", e);
            fallback().forward(x, h, w, y);
        } finally {
            kernels.giveBack(scratch);
            Reference.reachabilityFence(this);
        }
    }

    private synchronized Im2colConv fallback() {
        if (fallback == null) {
            fallback = new Im2colConv(weights.toArray(ValueLayout.JAVA_FLOAT), bias.toArray(ValueLayout.JAVA_FLOAT), inChannels(),
                    outChannels(), kernel(), stride(), padding(), kernels.pool());
        }
        return fallback;
    }
}
