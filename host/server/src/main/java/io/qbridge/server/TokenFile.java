package io.qbridge.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The accepted bearer tokens, one {@code name:role:sha256hex} line each ({@code role} is {@code admin}
 * or {@code client}; {@code #} starts a comment). Only digests are stored, so the file does not give
 * the tokens away.
 */
public final class TokenFile {
    private record Entry(Caller caller, byte[] digest) {}

    private final List<Entry> entries;

    private TokenFile(List<Entry> entries) {
        this.entries = entries;
    }

    public static TokenFile read(Path file) throws IOException {
        List<Entry> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split(":", -1);
            String where = file + ":" + (i + 1);
            if (f.length != 3) throw new IOException(where + ": expected name:role:sha256hex");
            Caller.Role role = switch (f[1].strip().toLowerCase(Locale.ROOT)) {
                case "admin" -> Caller.Role.ADMIN;
                case "client" -> Caller.Role.CLIENT;
                default -> throw new IOException(where + ": role must be admin or client, not '" + f[1] + "'");
            };
            String hex = f[2].strip().toLowerCase(Locale.ROOT);
            if (!ArtifactStore.isSha256(hex)) throw new IOException(where + ": the token digest must be 64 hex digits (sha256 of the token)");
            if (f[0].isBlank()) throw new IOException(where + ": empty name");
            out.add(new Entry(new Caller(f[0].strip(), role), HexFormat.of().parseHex(hex)));
        }
        if (out.isEmpty()) throw new IOException(file + ": no tokens");
        return new TokenFile(List.copyOf(out));
    }

    /** The line for a token, as an operator adds it to the file. */
    public static String line(String name, Caller.Role role, String token) {
        return name + ":" + role.name().toLowerCase(Locale.ROOT) + ":" + HexFormat.of().formatHex(digest(token));
    }

    /**
     * The caller a token belongs to, or null. Every entry is compared, each in constant time, so the time
     * taken says nothing about which entry or how many bytes matched.
     */
    public Caller authenticate(String token) {
        byte[] d = digest(token);
        Caller found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.digest(), d) && found == null) found = e.caller();
        }
        return found;
    }

    static byte[] digest(String token) {
        return ArtifactStore.sha256().digest(token.getBytes(StandardCharsets.UTF_8));
    }
}
