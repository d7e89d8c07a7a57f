package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The activation buffers of one forward pass, recycled by size: blocks of a stage have equal
 * shapes, so after the first block a stage allocates nothing. One per call and never shared,
 * which is what makes the loaded model thread-safe.
 */
final class Workspace {
    private final Backend backend;
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();

    Workspace(Backend backend) {
        this.backend = backend;
    }

    /** A map of the given shape with unspecified contents. */
    FeatureMap allocate(int channels, int height, int width) {
        int size = Math.multiplyExact(Math.multiplyExact(channels, height), width);
        ArrayDeque<float[]> buffers = free.get(size);
        float[] data = buffers == null || buffers.isEmpty() ? new float[size] : buffers.pop();
        return new FeatureMap(data, channels, height, width);
    }

    /** Hands {@code x}'s buffer back for reuse; only for maps this workspace allocated. */
    void release(FeatureMap x) {
        free.computeIfAbsent(x.size(), s -> new ArrayDeque<>()).push(x.data());
    }

    FeatureMap conv(Conv2d conv, FeatureMap x) {
        if (x.channels() != conv.inChannels()) {
            throw new IllegalArgumentException("convolution expects " + conv.inChannels() + " input channels, found "
                    + x.channels());
        }
        FeatureMap y = allocate(conv.outChannels(), conv.outSize(x.height()), conv.outSize(x.width()));
        conv.forward(x.data(), x.height(), x.width(), y.data());
        return y;
    }

    FeatureMap avgPool(FeatureMap x, int k) {
        FeatureMap y = allocate(x.channels(), x.height() / k, x.width() / k);
        backend.avgPool2d(x.data(), x.channels(), x.height(), x.width(), k, y.data());
        return y;
    }

    /** In place; returns {@code x}. */
    FeatureMap relu(FeatureMap x) {
        backend.relu(x.data(), x.size());
        return x;
    }

    /** {@code x += y} in place; returns {@code x}. */
    FeatureMap add(FeatureMap x, FeatureMap y) {
        if (x.channels() != y.channels() || x.height() != y.height() || x.width() != y.width()) {
            throw new IllegalArgumentException("cannot add a [" + y.channels() + ", " + y.height() + ", " + y.width()
                    + "] map to a [" + x.channels() + ", " + x.height() + ", " + x.width() + "] one");
        }
        backend.add(x.data(), y.data(), x.size());
        return x;
    }
}
