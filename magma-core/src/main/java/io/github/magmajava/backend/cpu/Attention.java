package io.github.magmajava.backend.cpu;

import io.github.magmajava.backend.KeyValues;
import jdk.incubator.vector.FloatVector;

/** Rotary embedding and causal attention of one (query row, head) pair at a time. */
final class Attention {
    private Attention() {
    }

    /**
     * GPT-J's rotate_every_two on the first rotaryDim dims of each head. Angles are computed in
     * float like torch ({@code position * inv_freq} in fp32, then sin/cos).
     */
    static void rope(float[] x, int rows, int heads, int headDim, int rotaryDim, double base, int startPos) {
        int pairs = rotaryDim / 2;
        float[] invFreq = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(base, (2.0 * i) / rotaryDim));
        }
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int r = 0; r < rows; r++) {
            float pos = startPos + r;
            for (int i = 0; i < pairs; i++) {
                float angle = pos * invFreq[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) Math.sin(angle);
            }
            for (int h = 0; h < heads; h++) {
                int off = (r * heads + h) * headDim;
                for (int i = 0; i < pairs; i++) {
                    float a = x[off + 2 * i];
                    float b = x[off + 2 * i + 1];
                    x[off + 2 * i] = a * cos[i] - b * sin[i];
                    x[off + 2 * i + 1] = b * cos[i] + a * sin[i];
                }
            }
        }
    }

    /**
     * Output of query row {@code r} (position startPos + r), head {@code h}. The kept prefix's
     * positions and the call's own are two loops each, in position order, so no position pays
     * for choosing its array and the sums are those of one array.
     */
    static void head(float[] q, KeyValues kv, int r, int startPos, int h, int heads, int headDim, float[] out) {
        int d = heads * headDim;
        int visible = startPos + r + 1;
        int shared = Math.min(kv.shared(), visible);
        int qBase = r * d + h * headDim;
        int column = h * headDim;
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] scores = new float[visible];
        float max = Math.max(scores(q, qBase, kv.sharedKeys(), 0, shared, 0, d, column, headDim, scale, scores),
                scores(q, qBase, kv.keys(), shared, visible, shared, d, column, headDim, scale, scores));
        float total = 0;
        for (int p = 0; p < visible; p++) {
            float e = (float) Math.exp(scores[p] - max);
            scores[p] = e;
            total += e;
        }
        float norm = 1 / total;
        int lanes = HalfFloats.LANES;
        int dv = headDim - headDim % lanes;
        for (int i = 0; i < dv; i += lanes) {
            FloatVector acc = FloatVector.zero(HalfFloats.F);
            acc = weighted(acc, kv.sharedValues(), scores, 0, shared, 0, d, column + i);
            acc = weighted(acc, kv.values(), scores, shared, visible, shared, d, column + i);
            acc.mul(norm).intoArray(out, qBase + i);
        }
        for (int i = dv; i < headDim; i++) {
            float acc = 0;
            for (int p = 0; p < shared; p++) {
                acc += scores[p] * kv.sharedValues()[p * d + column + i];
            }
            for (int p = shared; p < visible; p++) {
                acc += scores[p] * kv.values()[(p - shared) * d + column + i];
            }
            out[qBase + i] = acc * norm;
        }
    }

    /** Scaled scores of positions {@code from .. to - 1}, held from row {@code p - rowBase} of {@code keys}; their max. */
    private static float scores(float[] q, int qBase, float[] keys, int from, int to, int rowBase, int d, int column, int headDim,
            float scale, float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (int p = from; p < to; p++) {
            float s = Gemm.dot(q, qBase, keys, (p - rowBase) * d + column, headDim) * scale;
            scores[p] = s;
            max = Math.max(max, s);
        }
        return max;
    }

    /** {@code acc + sum scores[p] * values[row p - rowBase, column ..]} over positions {@code from .. to - 1}. */
    private static FloatVector weighted(FloatVector acc, float[] values, float[] scores, int from, int to, int rowBase, int d,
            int column) {
        for (int p = from; p < to; p++) {
            acc = FloatVector.fromArray(HalfFloats.F, values, (p - rowBase) * d + column).fma(FloatVector.broadcast(HalfFloats.F, scores[p]), acc);
        }
        return acc;
    }
}
