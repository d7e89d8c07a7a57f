package io.github.magmajava.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class ArgmaxTest {
    private static final float INF = Float.POSITIVE_INFINITY;

    @Test
    void picksTheLargestLogit() {
        assertThat(Sampler.ARGMAX.sample(new float[] {0.1f, -3f, 2.5f, 2.4f}, 4)).isEqualTo(2);
        assertThat(Sampler.ARGMAX.sample(new float[] {-5f, -3f, -4f}, 3)).isEqualTo(1);
    }

    @Test
    void tiesGoToTheLowestId() {
        assertThat(Sampler.ARGMAX.sample(new float[] {1f, 3f, 0f, 3f, 3f}, 5)).isEqualTo(1);
        assertThat(Sampler.ARGMAX.sample(new float[] {7f, 7f}, 2)).isEqualTo(0);
    }

    @Test
    void idsAtOrAboveTheLimitAreNeverChosenEvenWhenLargest() {
        float[] logits = {1f, 2f, 0f, 100f, INF};
        assertThat(Sampler.ARGMAX.sample(logits, 3)).isEqualTo(1);
        assertThat(Sampler.ARGMAX.sample(logits, 4)).isEqualTo(3);
        assertThat(Sampler.ARGMAX.sample(logits, 5)).isEqualTo(4);
    }

    @Test
    void positiveInfinityWinsAndMinusInfinityLoses() {
        assertThat(Sampler.ARGMAX.sample(new float[] {Float.MAX_VALUE, INF, 3f, INF}, 4)).isEqualTo(1);
        assertThat(Sampler.ARGMAX.sample(new float[] {-INF, -INF, -Float.MAX_VALUE, -INF}, 4)).isEqualTo(2);
    }

    @Test
    void allMinusInfinityIsAClearError() {
        assertThatIllegalArgumentException().isThrownBy(() -> Sampler.ARGMAX.sample(new float[] {-INF, -INF, 5f}, 2))
                .withMessage("every logit of token ids 0..1 is -infinity: no token can be sampled");
    }

    @Test
    void nanIsRefusedNamingTheId() {
        assertThatIllegalArgumentException().isThrownBy(() -> Sampler.ARGMAX.sample(new float[] {1f, 2f, Float.NaN}, 3))
                .withMessageStartingWith("the logit of token id 2 is NaN");
    }

    @Test
    void nanAboveTheLimitIsIgnoredBecauseThoseIdsCanNeverBeChosen() {
        assertThat(Sampler.ARGMAX.sample(new float[] {1f, 2f, Float.NaN}, 2)).isEqualTo(1);
    }

    @Test
    void vocabLimitOutsideTheRowIsRefused() {
        float[] logits = new float[3];
        assertThatIllegalArgumentException().isThrownBy(() -> Sampler.ARGMAX.sample(logits, 0))
                .withMessage("vocabLimit must be between 1 and the logits length 3, found 0");
        assertThatIllegalArgumentException().isThrownBy(() -> Sampler.ARGMAX.sample(logits, 4))
                .withMessage("vocabLimit must be between 1 and the logits length 3, found 4");
    }

    @Test
    void temperatureZeroCreatesArgmax() {
        assertThat(Sampler.create(SamplingOptions.defaults().withTemperature(0f))).isSameAs(Sampler.ARGMAX);
        assertThat(Sampler.create(SamplingOptions.defaults())).isNotSameAs(Sampler.ARGMAX);
    }
}
