package io.qbridge.cli;

/** Status lines on stderr, so stdout carries only results (JSON or tables). */
final class Log {
    private Log() {}

    static void info(String format, Object... args) {
        System.err.println(String.format(format, args));
    }
}
