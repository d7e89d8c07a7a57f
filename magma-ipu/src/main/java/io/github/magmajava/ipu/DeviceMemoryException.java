package io.github.magmajava.ipu;

/** A phase asked a device for more memory than it has: the run stops, as a device would. */
public final class DeviceMemoryException extends IllegalStateException {
    DeviceMemoryException(String message) {
        super(message);
    }
}
