package io.github.magmajava;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.backend.KeyValues;
import io.github.magmajava.backend.Linear;
import io.github.magmajava.backend.Phase;
import io.github.magmajava.backend.Split;
import io.github.magmajava.io.Tensor;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * A backend that runs another one, and while it is closed ({@link #hold}) makes every phase wait
 * for a permit: a test can keep a generation in flight, on the scheduling thread, as long as it
 * likes; or slows every phase by a delay, so a tiny model generates at a pace a test can follow.
 * (In the facade's test jar: the server's tests use it too.)
 */
public final class GatedBackend implements Backend {
    private final Backend inner;
    private final Semaphore permits = new Semaphore(Integer.MAX_VALUE);
    private volatile boolean held;
    private volatile long delayMillis;
    /** Phases started while held, waiting or not. */
    public final Semaphore arrived = new Semaphore(0);

    public GatedBackend(Backend inner) {
        this.inner = inner;
    }

    /** Every phase from now on sleeps this long first. */
    public void delay(long millis) {
        this.delayMillis = millis;
    }

    public void hold() {
        permits.drainPermits();
        held = true;
    }

    public void release() {
        held = false;
        permits.release(Integer.MAX_VALUE / 2);
    }

    @Override
    public <T> T run(Phase phase, Supplier<T> body) {
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (held) {
            arrived.release();
            permits.acquireUninterruptibly();
            permits.release();
        }
        return inner.run(phase, body);
    }

    @Override
    public String name() {
        return "gated " + inner.name();
    }

    @Override
    public int devices() {
        return inner.devices();
    }

    @Override
    public int independentRows() {
        return inner.independentRows();
    }

    @Override
    public Linear linear(Tensor weight, Tensor bias, Split split) {
        return inner.linear(weight, bias, split);
    }

    @Override
    public Conv2d conv2d(String name, float[] weight, float[] bias, int inChannels, int outChannels, int kernel, int stride,
            int padding) {
        return inner.conv2d(name, weight, bias, inChannels, outChannels, kernel, stride, padding);
    }

    @Override
    public float[] allReduce(float[][] partials, int n) {
        return inner.allReduce(partials, n);
    }

    @Override
    public void embedding(Tensor table, int[] ids, float[] out) {
        inner.embedding(table, ids, out);
    }

    @Override
    public void layerNorm(float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] out) {
        inner.layerNorm(x, rows, dim, gamma, beta, eps, out);
    }

    @Override
    public void gelu(float[] x, int n) {
        inner.gelu(x, n);
    }

    @Override
    public void relu(float[] x, int n) {
        inner.relu(x, n);
    }

    @Override
    public void add(float[] x, float[] y, int n) {
        inner.add(x, y, n);
    }

    @Override
    public void avgPool2d(float[] x, int channels, int h, int w, int k, float[] out) {
        inner.avgPool2d(x, channels, h, w, k, out);
    }

    @Override
    public void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        inner.rope(x, rows, heads, headDim, rotaryDim, base, startPos);
    }

    @Override
    public void attention(float[] q, KeyValues kv, int rows, int startPos, int heads, int headDim, float[] out) {
        inner.attention(q, kv, rows, startPos, heads, headDim, out);
    }

    @Override
    public void close() {
        inner.close();
    }
}
