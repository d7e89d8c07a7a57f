package io.github.magmajava.backend;

import io.github.magmajava.io.Tensor;
import java.util.List;

/**
 * A unit of phased execution: the seed runs one phase for the image prefix, one for the
 * embedding, one per decoder block and one for the LM head, each staging its weights from remote
 * memory first. On the CPU backend the weights are already mapped and a phase costs nothing.
 *
 * @param name    for logs and timings, e.g. {@code "block 3"}
 * @param weights the weights the phase reads, so a staging backend can load them up front
 */
public record Phase(String name, List<Tensor> weights) {
    public Phase {
        weights = List.copyOf(weights);
    }
}
