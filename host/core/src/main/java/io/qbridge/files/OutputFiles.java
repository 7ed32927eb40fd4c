package io.qbridge.files;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Temporary files beside an output, renamed over it when complete.
 *
 * <p>{@link Files#createTempFile} gives mode 0600 on POSIX, which the rename would carry to the output (a
 * {@code .qbz} nobody else on the machine can read); {@link Files#createFile} without attributes gets 0666
 * minus the process umask, as any other program's output does.
 */
public final class OutputFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private OutputFiles() {}

    /** A new empty file {@code .<name of out>.<random>.tmp} in {@code out}'s directory (created if absent), mode 0666 & ~umask. */
    public static Path tempBeside(Path out) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            byte[] r = new byte[8];
            RANDOM.nextBytes(r);
            try {
                return Files.createFile(dir.resolve("." + out.getFileName() + "." + HexFormat.of().formatHex(r) + ".tmp"));
            } catch (FileAlreadyExistsException e) {
                if (attempt == 9) throw e;
            }
        }
    }

    /** Renames {@code tmp} over {@code out}, atomically where the file system can. */
    public static void replace(Path tmp, Path out) throws IOException {
        try {
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes {@code bytes} to {@code out} through a temporary file. */
    public static void write(Path out, byte[] bytes) throws IOException {
        Path tmp = tempBeside(out);
        try {
            Files.write(tmp, bytes);
            replace(tmp, out);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
