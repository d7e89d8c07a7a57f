package io.github.magmajava.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./magma}: MAGMA inference and the tools around it. */
@Command(name = "magma", mixinStandardHelpOptions = true, versionProvider = MagmaCli.Version.class,
        description = "MAGMA (image + prompt -> text) on the JVM.",
        subcommands = {GenerateCommand.class, BenchCommand.class, InspectCommand.class, TokenizeCommand.class, PreprocessCommand.class,
                CommandLine.HelpCommand.class})
public final class MagmaCli {

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI; errors are one line on {@code err} and a non-zero exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new MagmaCli());
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
