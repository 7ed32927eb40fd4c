package io.qbridge.cli;

/** Small text helpers for tables. */
final class Text {
    private Text() {}

    static String clip(String s, int width) {
        return s.length() <= width ? s : s.substring(0, width - 1) + "…";
    }
}
