package io.github.magmajava.cli;

import io.github.magmajava.Conversation;
import io.github.magmajava.Generation;
import io.github.magmajava.ImageInput;
import io.github.magmajava.ImageSession;
import io.github.magmajava.Magma;
import io.github.magmajava.TokenListener;
import io.github.magmajava.sampling.SamplingOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code magma chat}: the model loaded once, questions about an image read line by line, each
 * answer streamed. The image's positions are kept between questions ({@link ImageSession}), so
 * only the first question of an image pays for them.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Ask questions about an image, one per line; each answer streams as it is generated. Commands: "
                + "/image PATH, /set NAME VALUE (temperature, top-p, top-k, max-out-tokens, seed), /conversation on|off, "
                + "/reset, /help, /quit. Ctrl-C stops the current answer.")
final class ChatCommand implements Callable<Integer> {
    private static final String HELP = """
            Ask a question about the image and press Enter. Commands:
              /image PATH          switch to another image
              /set NAME VALUE      temperature, top-p, top-k, max-out-tokens or seed, e.g. /set temperature 0.5
              /conversation on|off carry earlier questions and answers into the next prompt (off: each question alone)
              /reset               forget the conversation, restore the sampling options given at start
              /help                this text
              /quit                leave (also Ctrl-D)
            Ctrl-C stops the answer being generated.""";

    @Spec
    CommandSpec spec;

    @Mixin
    CheckpointOption checkpoint;

    @ArgGroup(exclusive = true)
    ConfigChoice config;

    @Option(names = "--image", required = true, description = "The first image: PNG, JPEG, GIF or BMP.")
    Path image;

    @Mixin
    SamplingArgs sampling;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--conversation", description = "Carry earlier questions and answers into each prompt (default: each"
            + " question is asked of the image alone, its answer equal to generate's).")
    boolean conversation;

    @Option(names = "--json", description = "One JSON object per answer on stdout: {\"text\", \"tokens\", \"promptTokens\","
            + " \"prefillTokens\", \"timings\"}.")
    boolean json;

    @Option(names = "--quiet", description = "No progress line on a terminal's stderr (loading, encoding the image, reading the"
            + " prompt).")
    boolean quiet;

    /** Where questions come from; MagmaCli sets it (standard input, or a test's stream). */
    InputStream input = System.in;

    private final AtomicBoolean stop = new AtomicBoolean();

    /** Thrown by the streaming listener when Ctrl-C asked to stop the answer. */
    private static final class Stopped extends RuntimeException {
        Stopped() {
            super("stopped", null, false, false);
        }
    }

    @Override
    public Integer call() throws Exception {
        CliOutput out = CliOutput.out(spec);
        PrintWriter err = spec.commandLine().getErr();
        Magma.Builder builder = Magma.builder(checkpoint.resolve(err));
        if (config != null) {
            builder.config(config.resolve());
        }
        compute.applyTo(builder, spec);
        SamplingOptions initial = sampling.toOptions();
        try (StatusLine status = StatusLine.open(quiet); Magma magma = load(builder, status);
                Lines lines = Lines.open(input, input == System.in && System.console() != null, stop)) {
            Chat chat = new Chat(magma, initial, conversation, out, err, status);
            chat.open(image);
            while (true) {
                String line = lines.read();
                if (line == null) {
                    break;
                }
                line = line.strip();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("/")) {
                    if (!chat.command(line)) {
                        break;
                    }
                    continue;
                }
                chat.ask(line);
            }
        }
        return 0;
    }

    /** Loads the model, the status line saying so meanwhile. */
    private static Magma load(Magma.Builder builder, StatusLine status) throws java.io.IOException {
        status.show("loading the model");
        Magma magma = builder.load();
        status.clear();
        return magma;
    }

    /** One chat's state: the model, the image session, the options, the conversation so far. */
    private final class Chat {
        /** Progress before an answer's first token (the first question of an image runs its positions too). */
        private final StatusLine status;
        private final Magma magma;
        private final SamplingOptions initial;
        private final CliOutput out;
        private final PrintWriter err;
        private SamplingOptions options;
        private boolean carry;
        private final Conversation conversation = new Conversation();
        private ImageSession session;

        Chat(Magma magma, SamplingOptions initial, boolean carry, CliOutput out, PrintWriter err, StatusLine status) {
            this.status = status;
            this.magma = magma;
            this.initial = initial;
            this.options = initial;
            this.carry = carry;
            this.out = out;
            this.err = err;
        }

        void open(Path path) throws IOException {
            ImageSession next = magma.session(ImageInput.file(path));
            if (session != null) {
                session.close();
            }
            session = next;
            conversation.clear();
            if (!json) {
                err.println("chat: " + path + " (its positions are computed by the first question and kept); /help for commands");
            }
        }

        void ask(String question) {
            String prompt = carry ? conversation.prompt(question) : question;
            stop.set(false);
            TokenListener stream = json ? (id, piece) -> checkStop() : (id, piece) -> {
                checkStop();
                out.print(piece);
                out.flushOrThrow();
            };
            try {
                Generation g = session.ask(prompt, options, status.around(stream));
                status.clear();
                if (json) {
                    out.println(CliJson.generation(g, magma));
                } else {
                    out.println();
                    err.printf(Locale.ROOT, "(first token %.2f s, %d prefilled, %d tokens, %.1f tokens/s)%n",
                            CliJson.seconds(g.timings().timeToFirstToken()), g.prefillTokens(), g.tokens().length,
                            g.timings().decodeTokensPerSecond());
                }
                out.flushOrThrow();
                if (carry) {
                    conversation.add(question, g.text());
                }
            } catch (Stopped e) {
                status.clear();
                out.println();
                out.flushOrThrow();
                err.println("chat: stopped");
            } catch (IllegalArgumentException e) {
                status.clear();
                err.println("magma: " + e.getMessage() + (carry ? " (/reset forgets the conversation)" : ""));
            }
        }

        private void checkStop() {
            if (stop.get()) {
                throw new Stopped();
            }
        }

        /** Runs a {@code /command}; false to end the chat. */
        boolean command(String line) {
            String[] words = line.split("\\s+", 3);
            try {
                switch (words[0]) {
                    case "/quit", "/exit" -> {
                        return false;
                    }
                    case "/help" -> err.println(HELP);
                    case "/image" -> {
                        if (words.length < 2) {
                            throw new IllegalArgumentException("/image needs a path");
                        }
                        open(Path.of(line.substring("/image".length()).strip()));
                    }
                    case "/set" -> {
                        if (words.length < 3) {
                            throw new IllegalArgumentException("/set needs a name and a value, e.g. /set temperature 0.5");
                        }
                        options = set(options, words[1], words[2].strip());
                        err.println("chat: " + words[1] + " = " + words[2].strip());
                    }
                    case "/conversation" -> {
                        if (words.length < 2 || !words[1].equals("on") && !words[1].equals("off")) {
                            throw new IllegalArgumentException("/conversation takes on or off");
                        }
                        carry = words[1].equals("on");
                        conversation.clear();
                    }
                    case "/reset" -> {
                        conversation.clear();
                        options = initial;
                        err.println("chat: conversation forgotten, sampling options as at start");
                    }
                    default -> throw new IllegalArgumentException("unknown command " + words[0] + " (/help lists them)");
                }
            } catch (IOException | IllegalArgumentException e) {
                err.println("magma: " + e.getMessage());
            }
            return true;
        }
    }

    /**
     * {@code /set NAME VALUE}, read by the same options and converters as the command line's
     * ({@link SamplingArgs}), so a value is checked and named alike.
     */
    static SamplingOptions set(SamplingOptions current, String name, String value) {
        Settings settings = new Settings();
        try {
            new CommandLine(settings).parseArgs("--" + name, value);
        } catch (ParameterException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith("Unknown option") ? "unknown setting '" + name
                    + "': temperature, top-p, top-k, max-out-tokens or seed" : e.getMessage());
        }
        SamplingArgs a = settings.args;
        return switch (name) {
            case "temperature" -> current.withTemperature(a.temperature);
            case "top-p" -> current.withTopP(a.topP);
            case "top-k" -> current.withTopK(a.topK);
            case "max-out-tokens" -> current.withMaxNewTokens(a.maxOutTokens);
            case "seed" -> current.withSeed(a.seed);
            default -> throw new IllegalArgumentException("unknown setting '" + name + "'");
        };
    }

    @Command(name = "/set")
    static final class Settings {
        @Mixin
        SamplingArgs args;
    }

    /** Questions, a line at a time: JLine's editor with history on a terminal, plain lines otherwise. */
    private interface Lines extends AutoCloseable {
        /** The next line, or null at the end of input. */
        String read() throws IOException;

        @Override
        void close() throws IOException;

        static Lines open(InputStream in, boolean terminal, AtomicBoolean stop) throws IOException {
            if (!terminal) {
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                return new Lines() {
                    @Override
                    public String read() throws IOException {
                        return reader.readLine();
                    }

                    @Override
                    public void close() {
                        // standard input stays open: it is not ours
                    }
                };
            }
            Terminal t = TerminalBuilder.builder().system(true).build();
            // Ctrl-C while an answer streams stops it; while editing, it clears the line.
            t.handle(Terminal.Signal.INT, s -> stop.set(true));
            LineReader reader = LineReaderBuilder.builder().terminal(t).build();
            return new Lines() {
                @Override
                public String read() {
                    while (true) {
                        try {
                            return reader.readLine("> ");
                        } catch (UserInterruptException e) {
                            // Ctrl-C on the prompt: a fresh line
                        } catch (EndOfFileException e) {
                            return null;
                        }
                    }
                }

                @Override
                public void close() throws IOException {
                    t.close();
                }
            };
        }
    }
}
