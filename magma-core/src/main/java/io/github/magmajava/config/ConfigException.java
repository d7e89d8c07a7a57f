package io.github.magmajava.config;

/** A model configuration that is unreadable or inconsistent; the message names the field. */
public class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
