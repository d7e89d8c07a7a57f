package io.github.magmajava.gptj;

import java.util.Arrays;

/** {@code kv-cache}: the prompt once, then each token alone against the cache of every earlier position. */
final class CachedSequence implements Sequence {
    private final GptjModel model;
    private final KvCache cache;
    private final float[] step;
    private int prefilled;

    CachedSequence(GptjModel model, KvCache cache) {
        this.model = model;
        this.cache = cache;
        this.step = new float[model.config().transformer().hiddenSize()];
    }

    @Override
    public float[] start(float[] imageEmbeddings, int imageRows, int[] ids) {
        int d = step.length;
        int rows = imageRows + ids.length;
        float[] input = Arrays.copyOf(imageEmbeddings, rows * d);
        float[] text = new float[ids.length * d];
        model.embed(ids, text);
        System.arraycopy(text, 0, input, imageRows * d, text.length);
        prefilled = rows;
        return model.forward(input, rows, cache);
    }

    @Override
    public int prefilled() {
        return prefilled;
    }

    @Override
    public float[] next(int token) {
        model.embed(new int[] {token}, step);
        return model.forward(step, 1, cache);
    }
}
