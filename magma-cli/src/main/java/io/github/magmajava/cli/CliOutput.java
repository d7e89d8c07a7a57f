package io.github.magmajava.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Standard output (or error) of the CLI: UTF-8 whatever the platform's charset. A PrintWriter
 * swallows write errors; this one remembers the first (a full disk, a closed pipe) and stops
 * writing, and {@link #flushOrThrow} reports it, so a run whose output goes nowhere ends at the
 * next flush instead of computing for nobody.
 */
final class CliOutput extends PrintWriter {
    private final Sink sink;
    private final String name;

    CliOutput(OutputStream stream, String name, boolean autoFlush) {
        this(new Sink(stream), name, autoFlush);
    }

    private CliOutput(Sink sink, String name, boolean autoFlush) {
        super(new OutputStreamWriter(sink, StandardCharsets.UTF_8), autoFlush);
        this.sink = sink;
        this.name = name;
    }

    /** The command's standard output, as {@link MagmaCli#run} sets it. */
    static CliOutput out(CommandSpec spec) {
        return (CliOutput) spec.commandLine().getOut();
    }

    /** Flushes. @throws Failure when this or an earlier write failed */
    void flushOrThrow() {
        flush();
        if (sink.failure != null) {
            throw new Failure(name, sink.failure);
        }
    }

    /** A write to the CLI's output failed; the message is {@code cannot write to NAME: REASON}. */
    static final class Failure extends UncheckedIOException {
        Failure(String name, IOException cause) {
            super("cannot write to " + name + ": " + (cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName()),
                    cause);
        }
    }

    /** Remembers the first failed write and refuses every later one without trying again. */
    private static final class Sink extends FilterOutputStream {
        IOException failure;

        Sink(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            check();
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            check();
            try {
                out.flush();
            } catch (IOException e) {
                failure = e;
                throw e;
            }
        }

        private void check() throws IOException {
            if (failure != null) {
                throw failure;
            }
        }
    }
}
