package io.github.magmajava.io;

import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Hands every message a class logs (through {@code System.Logger}, i.e. java.util.logging) to a
 * test, instead of the console, until closed.
 */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final Handler handler;

    private LogCapture(Logger logger, Consumer<String> sink) {
        this.logger = logger;
        this.handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                sink.accept(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
        logger.setUseParentHandlers(false);
    }

    /** Starts handing {@code source}'s log messages to {@code sink}. */
    public static LogCapture of(Class<?> source, Consumer<String> sink) {
        return new LogCapture(Logger.getLogger(source.getName()), sink);
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
        logger.setUseParentHandlers(true);
    }
}
