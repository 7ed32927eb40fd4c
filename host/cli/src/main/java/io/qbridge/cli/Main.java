package io.qbridge.cli;

import io.qbridge.model.ModelFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of the {@code qbridge} command. */
@Command(name = "qbridge", mixinStandardHelpOptions = true, version = "qbridge 0.1.0",
        description = "Host runtime for outlier-aware low-bit LLM accelerators (MicroScopiQ, FineQ, MX, LO-BCQ).",
        subcommands = {DemoCommand.class, InfoCommand.class, FormatsCommand.class, DevicesCommand.class, EmbedCommand.class, GenerateCommand.class, QuantizeCommand.class, EvalCommand.class,
                RunCommand.class, BenchCommand.class, EstimateCommand.class, DataCommand.class, HlsVectorsCommand.class, LoBcqCodebooksCommand.class,
                ServeCommand.class, SubmitCommand.class, JobsCommand.class, JobCommand.class, CancelCommand.class, FetchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            PrintWriter err = commandLine.getErr();
            err.println("qbridge: " + describe(ex));
            if (verbose) ex.printStackTrace(err);
            err.flush();
            return 2;
        });
        cl.setParameterExceptionHandler((ex, args2) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("qbridge: " + ex.getMessage());
            err.println("Try 'qbridge " + ex.getCommandLine().getCommandName() + " --help'.");
            err.flush();
            return 2;
        });
        return cl.execute(args);
    }

    /** One line naming the problem; the exception class only where the message alone would be unclear. */
    static String describe(Throwable ex) {
        if (ex instanceof UncheckedIOException u && u.getCause() != null) ex = u.getCause();
        String msg = ex.getMessage();
        if (ex instanceof ModelFormatException || ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                || ex instanceof IOException || ex instanceof UserException) {
            return msg == null ? ex.getClass().getSimpleName() : msg;
        }
        return ex.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }

    /** An error in what the user asked for, reported as its message alone. */
    public static final class UserException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UserException(String message) {
            super(message);
        }
    }
}
