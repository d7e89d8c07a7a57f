package io.github.magmajava.clip;

import io.github.magmajava.backend.Backend;
import io.github.magmajava.backend.ReferenceBackend;
import io.github.magmajava.backend.cpu.CpuBackend;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Every backend the encoder must agree on, as fresh instances that JUnit closes after each
 * parameterized invocation. A new backend belongs in {@link #all()}.
 */
final class Backends {
    private Backends() {
    }

    static Stream<Named<Backend>> all() {
        return Stream.of(Named.of("reference", new ReferenceBackend()), Named.of("cpu", CpuBackend.withThreads(2)));
    }

    /** Every backend with every one of {@code values}. */
    static Stream<Arguments> times(List<?> values) {
        return values.stream().flatMap(v -> all().map(b -> Arguments.of(b, v)));
    }
}
