package io.github.magmajava.gptj;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;

/**
 * The activation buffers of one forward call, sized for its rows and reused by every block. Each
 * call makes its own, so concurrent generations share nothing but the immutable weights.
 * Inside a block activations stay split the way the backend's devices hold them: each device has
 * its heads' q, k, v and context, its slice of the MLP and of the adapter, and two partial sums.
 */
final class Workspace {
    final int rows;
    /** ln_1(x) [rows, d], read whole by every device's attention and MLP. */
    final float[] normed;
    private final Device[] devices;
    /** Per device, in device order: what {@code Backend.allReduce} sums. */
    final float[][] attentionPartials;
    final float[][] mlpPartials;
    final float[][] adapterPartials;

    /** One device's buffers; {@code d / devices} wide where sharded, [rows, d] for partial sums. */
    static final class Device {
        final float[] query;
        final float[] key;
        final float[] value;
        /** The device's heads' attention before out_proj [rows, d / devices]. */
        final float[] context;
        /** Partial sum: out_proj of the device's heads, then plus its part of the adapter. */
        final float[] attention;
        /** Its columns of c_fc(h) [rows, mlpSize / devices]. */
        final float[] inner;
        /** Partial sum of c_proj [rows, d]. */
        final float[] mlp;
        /** Its adapter hidden units [rows, d / downsampleFactor / devices]. */
        final float[] bottleneck;
        /** Partial sum of the adapter's up projection [rows, d]. */
        final float[] adapterOut;
        /** One row of query, key, value and context: a batched step runs each row's attention against its own cache. */
        final float[] rowQuery;
        final float[] rowKey;
        final float[] rowValue;
        final float[] rowContext;

        private Device(int rows, int d, int mlpSize, int bottleneckSize, int devices) {
            int local = rows * (d / devices);
            this.query = new float[local];
            this.key = new float[local];
            this.value = new float[local];
            this.context = new float[local];
            this.attention = new float[rows * d];
            this.inner = new float[Math.multiplyExact(rows, mlpSize / devices)];
            this.mlp = new float[rows * d];
            this.bottleneck = new float[rows * (bottleneckSize / devices)];
            this.adapterOut = new float[rows * d];
            this.rowQuery = new float[d / devices];
            this.rowKey = new float[d / devices];
            this.rowValue = new float[d / devices];
            this.rowContext = new float[d / devices];
        }
    }

    Workspace(int rows, MagmaConfig config, int devices) {
        TransformerConfig t = config.transformer();
        int d = t.hiddenSize();
        this.rows = rows;
        this.normed = new float[rows * d];
        this.devices = new Device[devices];
        for (int i = 0; i < devices; i++) {
            this.devices[i] = new Device(rows, d, t.mlpSize(), d / config.adapter().downsampleFactor(), devices);
        }
        this.attentionPartials = new float[devices][];
        this.mlpPartials = new float[devices][];
        this.adapterPartials = new float[devices][];
        for (int i = 0; i < devices; i++) {
            attentionPartials[i] = this.devices[i].attention;
            mlpPartials[i] = this.devices[i].mlp;
            adapterPartials[i] = this.devices[i].adapterOut;
        }
    }

    Device device(int device) {
        return devices[device];
    }

    int devices() {
        return devices.length;
    }

}
