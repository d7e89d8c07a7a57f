package io.github.magmajava.backend;

/**
 * Makes the backend a model is loaded onto, once its config and weights are known; the model owns
 * and closes what it returns. {@code CpuBackend::create} is the default; {@code IpuBackend.factory(options)}
 * lays the model out on devices.
 */
@FunctionalInterface
public interface BackendFactory {
    Backend create(BackendContext model);
}
