package io.github.magmajava.gptj;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.KeyValues;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The reference backend, recording what the model asks of it: the phases it runs, the split of
 * every linear weight, the rows of every linear call and the start positions of RoPE, and any
 * weight read outside the phase that declares it. Single-threaded use only.
 */
final class RecordingBackend implements Backend {
    private final Backend delegate = new ReferenceBackend();
    final List<String> phases = new ArrayList<>();
    final Map<String, Split> splits = new LinkedHashMap<>();
    final Map<String, List<Integer>> linearRows = new LinkedHashMap<>();
    final List<Integer> ropeStarts = new ArrayList<>();
    final List<String> readsOutsidePhase = new ArrayList<>();
    private Phase current;

    @Override
    public String name() {
        return "recording";
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias, Split split) {
        splits.put(weight.name(), split);
        Linear inner = delegate.linear(weight, bias, split);
        return new Linear() {
            @Override
            public int inFeatures() {
                return inner.inFeatures();
            }

            @Override
            public int outFeatures() {
                return inner.outFeatures();
            }

            @Override
            public void forward(float[] x, int rows, float[] y) {
                checkInPhase(weight);
                if (bias != null) {
                    checkInPhase(bias);
                }
                linearRows.computeIfAbsent(weight.name(), k -> new ArrayList<>()).add(rows);
                inner.forward(x, rows, y);
            }
        };
    }

    private void checkInPhase(Tensor t) {
        if (current == null || !current.weights().contains(t)) {
            readsOutsidePhase.add(t.name() + " in " + (current == null ? "no phase" : current.name()));
        }
    }

    @Override
    public Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride, int padding) {
        return delegate.conv2d(name, weight, bias, inChannels, outChannels, kernel, stride, padding);
    }

    @Override
    public <T> T run(Phase phase, Supplier<T> body) {
        phases.add(phase.name());
        current = phase;
        try {
            return body.get();
        } finally {
            current = null;
        }
    }

    @Override
    public void embedding(Tensor table, int[] ids, float[] out) {
        checkInPhase(table);
        delegate.embedding(table, ids, out);
    }

    @Override
    public void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        delegate.layerNorm(x, rows, dim, gamma, beta, eps, out);
    }

    @Override
    public void gelu(float[] x, int n) {
        delegate.gelu(x, n);
    }

    @Override
    public void relu(float[] x, int n) {
        delegate.relu(x, n);
    }

    @Override
    public void add(float[] x, float[] y, int n) {
        delegate.add(x, y, n);
    }

    @Override
    public void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        delegate.avgPool2d(x, channels, h, w, k, out);
    }

    @Override
    public void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        ropeStarts.add(startPos);
        delegate.rope(x, rows, heads, headDim, rotaryDim, base, startPos);
    }

    @Override
    public void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out) {
        delegate.attention(q, kv, rows, startPos, heads, headDim, out);
    }
}
