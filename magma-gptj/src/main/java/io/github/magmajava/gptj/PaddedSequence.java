package io.github.magmajava.gptj;

import io.github.magmajava.config.MagmaConfig;
import java.util.Arrays;

/**
 * {@code static}, the seed's sequence mode: the text right-padded with end-of-text to the config's
 * sequence length, and the image and the whole padded text run from position 0 for every token,
 * the logits read at the last real row. Causal attention keeps the padding out of those rows.
 */
final class PaddedSequence implements Sequence {
    /** GPT-2's {@code <|endoftext|>}, the seed's padding. */
    static final int PADDING = 50256;

    private final GptjModel model;
    private final int[] text;
    private float[] image;
    private int imageRows;
    private int length;

    PaddedSequence(GptjModel model) {
        MagmaConfig config = model.config();
        int sequenceLength = config.transformer().sequenceLength();
        int positions = config.visual().imageTokens() + sequenceLength;
        if (positions > config.transformer().maxPositions()) {
            throw new IllegalArgumentException("static sequence mode runs " + config.visual().imageTokens() + " image tokens + "
                    + sequenceLength + " text positions, more than config '" + config.name() + "''s "
                    + config.transformer().maxPositions() + " positions");
        }
        this.model = model;
        this.text = new int[sequenceLength];
        Arrays.fill(text, PADDING);
    }

    /** Whether {@link #prompt} was given and not run yet. */
    private boolean pending;

    @Override
    public void prompt(float[] imageEmbeddings, int imageRows, int[] ids) {
        if (image != null) {
            throw new IllegalStateException("this sequence has its prompt already");
        }
        if (ids.length < 1 || ids.length > text.length) {
            throw new IllegalArgumentException("static sequence mode takes 1 to " + text.length + " prompt tokens, found "
                    + ids.length);
        }
        this.image = imageEmbeddings;
        this.imageRows = imageRows;
        System.arraycopy(ids, 0, text, 0, ids.length);
        this.length = ids.length;
        this.pending = true;
    }

    @Override
    public int pendingRows() {
        return pending ? imageRows + text.length : 0;
    }

    /** The padded sequence is one fixed shape: it runs whole, whatever {@code maxRows} says. */
    @Override
    public float[] prefill(int maxRows) {
        if (!pending) {
            throw new IllegalStateException("no prompt to run: set one with prompt(..)");
        }
        pending = false;
        return run();
    }

    @Override
    public KvCache keep() {
        throw new UnsupportedOperationException("the static sequence mode keeps no positions");
    }

    @Override
    public float[] next(int token) {
        if (length == text.length) {
            throw new IllegalStateException("the padded sequence is full: " + text.length + " text positions");
        }
        text[length++] = token;
        return run();
    }

    @Override
    public int prefilled() {
        return imageRows + text.length;
    }

    private float[] run() {
        int d = model.config().transformer().hiddenSize();
        int rows = imageRows + text.length;
        float[] input = Arrays.copyOf(image, rows * d);
        float[] embedded = new float[text.length * d];
        model.embed(text, embedded);
        System.arraycopy(embedded, 0, input, imageRows * d, embedded.length);
        return model.forwardFromStart(input, rows, imageRows + length - 1);
    }
}
