package io.github.magmajava.gptj;

import java.util.Arrays;

/** {@code kv-cache}: the prompt once (in chunks if asked), then each token alone against the cache of every earlier position. */
final class CachedSequence implements Sequence {
    private final GptjModel model;
    private final KvCache cache;
    private final int d;
    /** One token's embedding, reused by every decode step. */
    private final float[] step;
    /** The prompt's embeddings [rows, d] while it runs; null before {@link #prompt} and after the last chunk. */
    private float[] input;
    private int rows;
    private int done;
    private int prefilled;

    CachedSequence(GptjModel model, KvCache cache) {
        this.model = model;
        this.cache = cache;
        this.d = model.config().transformer().hiddenSize();
        this.step = new float[d];
    }

    GptjModel model() {
        return model;
    }

    KvCache cache() {
        return cache;
    }

    @Override
    public void prompt(float[] imageEmbeddings, int imageRows, int[] ids) {
        if (input != null || prefilled > 0) {
            throw new IllegalStateException("this sequence has its prompt already");
        }
        int total = imageRows + ids.length;
        if (total < 1) {
            throw new IllegalArgumentException("the prompt has no positions");
        }
        cache.checkRoom(total);
        float[] all = Arrays.copyOf(imageEmbeddings, total * d);
        float[] text = new float[ids.length * d];
        model.embed(ids, text);
        System.arraycopy(text, 0, all, imageRows * d, text.length);
        this.input = all;
        this.rows = total;
        this.done = 0;
    }

    @Override
    public int pendingRows() {
        return input == null ? 0 : rows - done;
    }

    @Override
    public float[] prefill(int maxRows) {
        if (input == null) {
            throw new IllegalStateException("no prompt to run: set one with prompt(..)");
        }
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, found " + maxRows);
        }
        int chunk = Math.min(maxRows, rows - done);
        float[] part = done == 0 && chunk == rows ? input : Arrays.copyOfRange(input, done * d, (done + chunk) * d);
        if (done + chunk < rows) {
            model.advance(part, chunk, cache);
            done += chunk;
            return null;
        }
        float[] logits = model.forward(part, chunk, cache);
        done = rows;
        input = null;
        prefilled = rows;
        return logits;
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

    @Override
    public KvCache keep() {
        return cache.freeze();
    }
}
