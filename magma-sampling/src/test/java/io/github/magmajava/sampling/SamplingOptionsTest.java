package io.github.magmajava.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNoException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SamplingOptionsTest {

    @Test
    void defaultsAreTheSeedsRunInference() {
        assertThat(SamplingOptions.defaults()).isEqualTo(new SamplingOptions(6, 0.7f, 0, 0.9f, 0L));
    }

    @Test
    void withMethodsChangeExactlyOneField() {
        SamplingOptions d = SamplingOptions.defaults();
        assertThat(d.withMaxNewTokens(100)).isEqualTo(new SamplingOptions(100, 0.7f, 0, 0.9f, 0L));
        assertThat(d.withTemperature(0f)).isEqualTo(new SamplingOptions(6, 0f, 0, 0.9f, 0L));
        assertThat(d.withTopK(40)).isEqualTo(new SamplingOptions(6, 0.7f, 40, 0.9f, 0L));
        assertThat(d.withTopP(1f)).isEqualTo(new SamplingOptions(6, 0.7f, 0, 1f, 0L));
        assertThat(d.withSeed(-7L)).isEqualTo(new SamplingOptions(6, 0.7f, 0, 0.9f, -7L));
    }

    @Test
    void boundaryValuesAreAccepted() {
        assertThatNoException().isThrownBy(() -> new SamplingOptions(1, 0f, 0, 1f, Long.MIN_VALUE));
        assertThatNoException().isThrownBy(() -> new SamplingOptions(Integer.MAX_VALUE, Float.MAX_VALUE, Integer.MAX_VALUE,
                Float.MIN_VALUE, Long.MAX_VALUE));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void maxNewTokensBelowOneIsRefused(int maxNewTokens) {
        assertThatIllegalArgumentException().isThrownBy(() -> SamplingOptions.defaults().withMaxNewTokens(maxNewTokens))
                .withMessage("maxNewTokens must be >= 1, found " + maxNewTokens);
    }

    @ParameterizedTest
    @ValueSource(floats = {-0.1f, -1e-30f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
    void temperatureNegativeOrNotFiniteIsRefused(float temperature) {
        assertThatIllegalArgumentException().isThrownBy(() -> SamplingOptions.defaults().withTemperature(temperature))
                .withMessageStartingWith("temperature must be a finite number >= 0")
                .withMessageEndingWith("found " + temperature);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, Integer.MIN_VALUE})
    void negativeTopKIsRefused(int topK) {
        assertThatIllegalArgumentException().isThrownBy(() -> SamplingOptions.defaults().withTopK(topK))
                .withMessageStartingWith("topK must be >= 0")
                .withMessageEndingWith("found " + topK);
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, -0f, -0.5f, 1.0000001f, 2f, Float.NaN, Float.POSITIVE_INFINITY})
    void topPOutsideZeroOneIsRefused(float topP) {
        assertThatIllegalArgumentException().isThrownBy(() -> SamplingOptions.defaults().withTopP(topP))
                .withMessageStartingWith("topP must be in (0, 1]")
                .withMessageEndingWith("found " + topP);
    }
}
