package io.github.magmajava.cli;

import io.github.magmajava.TokenListener;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What a command is doing while nothing else shows, on one line of a terminal's stderr, redrawn
 * in place with the seconds it has taken: loading the model, encoding the image, reading the
 * prompt (positions done of all, a chunk at a time). The answer's first token clears it. Off when
 * stderr is not a terminal (the launcher says so: {@code -Dmagma.stderr.terminal=true}) or with
 * {@code --quiet}, so logs and pipes get only the command's own lines. It is written to the
 * terminal itself ({@code /dev/tty}): the JVM's stderr passes through the launcher's filter, and a
 * line cleared there could arrive after the answer's first words on stdout and erase them.
 */
final class StatusLine implements AutoCloseable {
    /** Set by tools/magma-java when file descriptor 2 is a terminal (the JVM sees only the launcher's pipe). */
    static final String TERMINAL_PROPERTY = "magma.stderr.terminal";

    private final PrintWriter tty;
    private final ScheduledExecutorService ticker;
    /** The stage shown (its seconds count from when it began), and its detail, which may change within it. */
    private String stage;
    private String detail;
    private long since;
    private boolean shown;

    private StatusLine(PrintWriter tty) {
        this.tty = tty;
        this.ticker = tty == null ? null : Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("magma-status").unstarted(r));
        if (ticker != null) {
            ticker.scheduleAtFixedRate(this::draw, 500, 500, TimeUnit.MILLISECONDS);
        }
    }

    /** A status line when stderr is a terminal and not {@code quiet}; otherwise one that prints nothing. */
    static StatusLine open(boolean quiet) {
        if (quiet || !Boolean.getBoolean(TERMINAL_PROPERTY)) {
            return new StatusLine(null);
        }
        try {
            return new StatusLine(new PrintWriter(new OutputStreamWriter(new FileOutputStream("/dev/tty"), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            return new StatusLine(null); // no controlling terminal after all: stay quiet
        }
    }

    void show(String what) {
        show(what, "");
    }

    /** Shows {@code stage} (with {@code detail} after it); its seconds start when the stage changes, not the detail. */
    synchronized void show(String what, String more) {
        if (ticker == null) {
            return;
        }
        if (!what.equals(stage)) {
            since = System.nanoTime();
        }
        stage = what;
        detail = more;
        draw();
    }

    private synchronized void draw() {
        if (stage == null) {
            return;
        }
        long seconds = (System.nanoTime() - since) / 1_000_000_000L;
        tty.print("\r\033[K" + stage + detail + "..." + (seconds > 0 ? " " + seconds + " s" : ""));
        tty.flush();
        shown = true;
    }

    /** Removes the line (before the answer, or an error, is written). */
    synchronized void clear() {
        stage = null;
        if (shown) {
            tty.print("\r\033[K");
            tty.flush();
            shown = false;
        }
    }

    /** {@code next}, with the stages before the first token shown here and the line cleared at that token. */
    TokenListener around(TokenListener next) {
        return new TokenListener() {
            @Override
            public void onToken(int id, String textPiece) {
                clear();
                next.onToken(id, textPiece);
            }

            @Override
            public void onProgress(Stage s, int done, int total) {
                switch (s) {
                    case ENCODING_IMAGE -> show("encoding the image");
                    case READING_PROMPT -> show("reading the prompt", ": " + done + "/" + total + " positions");
                }
                next.onProgress(s, done, total);
            }
        };
    }

    @Override
    public void close() {
        if (ticker != null) {
            ticker.shutdownNow();
            clear();
            tty.close();
        }
    }
}
