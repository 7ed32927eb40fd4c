package io.qbridge.server;

import java.time.Instant;

/** One line per event on stderr, so an operator can follow the server with {@code tail} or journald. */
final class ServerLog {
    private ServerLog() {}

    static void info(String format, Object... args) {
        System.err.println(Instant.now() + " " + String.format(format, args));
    }
}
