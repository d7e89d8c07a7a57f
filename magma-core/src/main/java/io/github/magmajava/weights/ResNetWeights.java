package io.github.magmajava.weights;

import java.util.List;

/** CLIP's ModifiedResNet without its attention pool: a 3-conv stem and four stages of bottlenecks. */
public record ResNetWeights(ConvBn stem1, ConvBn stem2, ConvBn stem3, List<List<BottleneckWeights>> stages) {
    public ResNetWeights {
        stages = stages.stream().map(List::copyOf).toList();
    }
}
