package io.qbridge.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of long work: a progress bar when stderr is a terminal, otherwise one plain line per ~10% so
 * logs stay readable. Work under a second shows nothing on a terminal either (the bar appears only after
 * the first second).
 */
public final class Progress implements AutoCloseable {
    private final String task;
    private final long total;
    private final long startNanos = System.nanoTime();
    private final PrintStream plain;
    private ProgressBar bar;
    private long done;
    private int lastDecile = -1;
    private String note = "";

    private Progress(String task, long total, PrintStream plain) {
        this.task = task;
        this.total = Math.max(1, total);
        this.plain = plain;
    }

    public static Progress start(String task, long total) {
        return new Progress(task, total, System.console() == null ? System.err : null);
    }

    /** A progress that shows nothing (for callers that run inside tests or servers). */
    public static Progress silent(String task, long total) {
        Progress p = new Progress(task, total, null);
        p.lastDecile = Integer.MAX_VALUE;
        return p;
    }

    /** What the work is doing now, between steps (e.g. a calibration pass): the bar's message, or a plain line. */
    public synchronized void note(String what) {
        note = what;
        if (plain != null) plain.printf("%s: %s%n", task, what);
        else if (bar != null) bar.setExtraMessage(what);
        else if (lastDecile != Integer.MAX_VALUE && System.nanoTime() - startNanos > 1_000_000_000L) step(0);
    }

    public synchronized void step(long n) {
        done += n;
        if (plain != null) {
            int decile = (int) (10 * done / total);
            if (decile > lastDecile && (decile == 10 || System.nanoTime() - startNanos > 1_000_000_000L)) {
                lastDecile = decile;
                plain.printf("%s: %d/%d (%d%%)%n", task, done, total, 100 * done / total);
            }
        } else if (lastDecile != Integer.MAX_VALUE) {
            if (bar == null && System.nanoTime() - startNanos > 1_000_000_000L) {
                bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                        .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build();
                bar.setExtraMessage(note);
            }
            if (bar != null) bar.stepTo(done);
        }
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.stepTo(done);
            bar.close();
        }
    }
}
