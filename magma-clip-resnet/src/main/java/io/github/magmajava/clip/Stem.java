package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.Conv2d;
import io.github.magmajava.weights.ResNetWeights;

/**
 * CLIP's three-convolution stem: conv3x3 s2 (3 -> w/2), conv3x3 (w/2 -> w/2), conv3x3
 * (w/2 -> w), each with BatchNorm and ReLU, then AvgPool2d(2): [3, S, S] -> [w, S/4, S/4].
 */
public final class Stem {
    private final Backend backend;
    private final Conv2d conv1;
    private final Conv2d conv2;
    private final Conv2d conv3;

    private Stem(Backend backend, Conv2d conv1, Conv2d conv2, Conv2d conv3) {
        this.backend = backend;
        this.conv1 = conv1;
        this.conv2 = conv2;
        this.conv3 = conv3;
    }

    static Stem load(ResNetWeights weights, Backend backend) {
        return new Stem(backend,
                FoldedConv.fold(weights.stem1()).prepare(backend, 2, 1),
                FoldedConv.fold(weights.stem2()).prepare(backend, 1, 1),
                FoldedConv.fold(weights.stem3()).prepare(backend, 1, 1));
    }

    public int outChannels() {
        return conv3.outChannels();
    }

    /** The stem of a [3, S, S] image into a new map; {@code image} is left untouched. */
    public FeatureMap forward(FeatureMap image) {
        return forward(image, new Workspace(backend));
    }

    FeatureMap forward(FeatureMap image, Workspace ws) {
        FeatureMap x1 = ws.relu(ws.conv(conv1, image));
        FeatureMap x2 = ws.relu(ws.conv(conv2, x1));
        ws.release(x1);
        FeatureMap x3 = ws.relu(ws.conv(conv3, x2));
        ws.release(x2);
        FeatureMap pooled = ws.avgPool(x3, 2);
        ws.release(x3);
        return pooled;
    }
}
