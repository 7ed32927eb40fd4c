package io.qbridge.cli;

import picocli.CommandLine.Option;

/** The prompt and sampling options of {@code generate} and {@code submit generate}, with llama2.c's names and defaults. */
final class SamplingOptions {
    @Option(names = {"-i", "--prompt"}, defaultValue = "", paramLabel = "TEXT", description = "Prompt text (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-n", "--steps"}, defaultValue = "256", paramLabel = "N",
            description = "Positions to run, prompt included, as llama2.c's run counts them (default 256; 0 = the model's sequence length).")
    int steps;

    @Option(names = {"-t", "--temperature"}, defaultValue = "1.0", paramLabel = "T", description = "0 = greedy (default 1.0).")
    float temperature;

    @Option(names = {"-p", "--topp"}, defaultValue = "0.9", paramLabel = "P", description = "Nucleus sampling threshold (default 0.9).")
    float topp;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Random seed (default: the clock of the machine that generates).")
    Long seed;

    /** Refuses values no sampler takes, in one line each. */
    void check() {
        if (steps < 0) throw new Main.UserException("--steps must be >= 0");
        if (temperature < 0) throw new Main.UserException("--temperature must be >= 0");
        if (topp < 0 || topp > 1) throw new Main.UserException("--topp must be in [0, 1]");
    }
}
