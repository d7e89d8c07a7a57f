package io.github.magmajava.gptj;

import io.github.magmajava.config.MagmaConfig;
import io.github.magmajava.config.TransformerConfig;

/**
 * The activation buffers of one forward call, sized for its rows and reused by every block. Each
 * call makes its own, so concurrent generations share nothing but the immutable weights.
 */
final class Workspace {
    final int rows;
    /** ln_1(x) [rows, d], read by attention and the MLP alike. */
    final float[] normed;
    final float[] query;
    final float[] key;
    final float[] value;
    /** Attention of every head before out_proj [rows, d]. */
    final float[] context;
    /** attn(h) [rows, d]. */
    final float[] attention;
    /** c_fc(h) [rows, mlpSize]. */
    final float[] inner;
    /** mlp(h), adapter included [rows, d]. */
    final float[] mlp;
    /** The adapter's hidden units [rows, d / downsampleFactor]. */
    final float[] bottleneck;
    final float[] adapterOut;

    Workspace(int rows, MagmaConfig config) {
        TransformerConfig t = config.transformer();
        int d = t.hiddenSize();
        this.rows = rows;
        this.normed = new float[rows * d];
        this.query = new float[rows * d];
        this.key = new float[rows * d];
        this.value = new float[rows * d];
        this.context = new float[rows * d];
        this.attention = new float[rows * d];
        this.inner = new float[Math.multiplyExact(rows, t.mlpSize())];
        this.mlp = new float[rows * d];
        this.bottleneck = new float[rows * (d / config.adapter().downsampleFactor())];
        this.adapterOut = new float[rows * d];
    }
}
