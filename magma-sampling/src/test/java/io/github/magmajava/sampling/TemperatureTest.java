package io.github.magmajava.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The inverse-CDF draw at the edges of its uniform input. */
class TemperatureTest {
    /**
     * Two equal weights split [0, 1) into [0, 0.5) for id 0 and [0.5, 1) for id 1: the draw returns
     * the first id whose cumulative weight exceeds uniform * total, strictly.
     */
    @Test
    void eachIdOwnsAHalfOpenIntervalOfTheUniform() {
        float[] logits = {0f, 0f};
        assertThat(Temperature.draw(logits, 2, 1, 0f, 1f, 0.0, new double[2])).isZero();
        assertThat(Temperature.draw(logits, 2, 1, 0f, 1f, Math.nextDown(0.5), new double[2])).isZero();
        assertThat(Temperature.draw(logits, 2, 1, 0f, 1f, 0.5, new double[2])).isEqualTo(1);
        assertThat(Temperature.draw(logits, 2, 1, 0f, 1f, Math.nextDown(1.0), new double[2])).isEqualTo(1);
    }
}
