/**
 * The {@code qbridge} command line (picocli): one class per command, errors printed as one line with exit
 * code 2 (stack traces only with {@code --verbose}), progress bars on a terminal and plain lines otherwise.
 */
package io.qbridge.cli;
