package io.github.magmajava.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./magma}: MAGMA inference and the tools around it. */
@Command(name = "magma", mixinStandardHelpOptions = true, versionProvider = MagmaCli.Version.class,
        description = "MAGMA (image + prompt -> text) on the JVM.",
        subcommands = {DownloadCommand.class, GenerateCommand.class, ChatCommand.class, ServeCommand.class, ConvertCommand.class,
                CaptionBatchCommand.class, BenchCommand.class,
                PlanCommand.class, InspectCommand.class, TokenizeCommand.class, PreprocessCommand.class,
                CommandLine.HelpCommand.class})
public final class MagmaCli {

    public static void main(String[] args) {
        System.exit(run(args, new FileOutputStream(FileDescriptor.out), new FileOutputStream(FileDescriptor.err)));
    }

    /**
     * Runs the CLI, writing UTF-8 to {@code out} and {@code err} whatever the platform's charset;
     * errors are one line on {@code err} and a non-zero exit code, among them a failed write to
     * {@code out} (the run stops at the next flush). The streams are flushed, not closed.
     */
    public static int run(String[] args, OutputStream out, OutputStream err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], OutputStream, OutputStream)}, {@code chat} reading its questions from {@code in}. */
    public static int run(String[] args, InputStream in, OutputStream out, OutputStream err) {
        CliOutput stdout = new CliOutput(out, "standard output", false);
        CliOutput stderr = new CliOutput(err, "standard error", true);
        int exit = execute(args, in, stdout, stderr);
        try {
            stdout.flushOrThrow();
        } catch (CliOutput.Failure e) {
            if (exit == 0) {
                stderr.println("magma: " + e.getMessage());
                exit = 1;
            }
        }
        stderr.flush();
        return exit;
    }

    private static int execute(String[] args, InputStream in, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new MagmaCli());
        ((ChatCommand) cli.getSubcommands().get("chat").getCommand()).input = in;
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("magma: " + e.getMessage() + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return 2;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            err.println("magma: " + describe(e));
            err.flush();
            return 1;
        });
        return cli.execute(args);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        }
        return message.replace('\n', ' ').replaceAll(" {2,}", " ");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = MagmaCli.class.getPackage().getImplementationVersion();
            return new String[] {"magma " + (v == null ? "(development build)" : v)};
        }
    }
}
