package io.qbridge.format;

import io.qbridge.files.Sha256;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of LO-BCQ codebooks ({@code docs/formats.md} §8): {@code count} codebooks of 16 signed integer entries
 * each, sorted ascending within a codebook (duplicates allowed), every entry in [-(2^(entryBits-1)-1),
 * 2^(entryBits-1)-1]. {@code entries[16 i + j]} is entry j of codebook i.
 *
 * <p>The universal tables live in the versioned resource {@value #RESOURCE}: one table per configuration key
 * ({@link LoBcqFormat#tableKey()}), each followed by the sha256 of its entries as signed bytes; loading refuses a
 * table whose digest does not match.
 */
public record LoBcqCodebooks(int entryBits, int[] entries) {
    public static final int ENTRIES = 16;
    public static final String RESOURCE = "lobcq-codebooks-v1.txt";

    public LoBcqCodebooks {
        if (entryBits != 4 && entryBits != 6 && entryBits != 8) throw new IllegalArgumentException("LO-BCQ entry bits must be 4, 6 or 8, got " + entryBits);
        if (entries == null || entries.length == 0 || entries.length % ENTRIES != 0)
            throw new IllegalArgumentException("LO-BCQ codebook table must hold a positive multiple of 16 entries, got " + (entries == null ? "null" : entries.length));
        int max = maxEntry(entryBits);
        for (int i = 0; i < entries.length; i++) {
            if (Math.abs(entries[i]) > max) throw new IllegalArgumentException("LO-BCQ codebook " + i / ENTRIES + " entry " + i % ENTRIES + " = " + entries[i] + " is outside +-" + max);
            if (i % ENTRIES != 0 && entries[i] < entries[i - 1])
                throw new IllegalArgumentException("LO-BCQ codebook " + i / ENTRIES + " is not sorted at entry " + i % ENTRIES);
        }
        entries = entries.clone();
    }

    /** The largest entry magnitude, 2^(entryBits-1) - 1. */
    public static int maxEntry(int entryBits) {
        return (1 << (entryBits - 1)) - 1;
    }

    public int count() {
        return entries.length / ENTRIES;
    }

    public int entry(int codebook, int index) {
        return entries[codebook * ENTRIES + index];
    }

    @Override
    public int[] entries() {
        return entries.clone();
    }

    /** sha256 (lower-case hex) of the entries as signed bytes, in table order. */
    public String sha256() {
        byte[] b = new byte[entries.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) entries[i];
        return Sha256.hex(b);
    }

    /** The table's text block as the resource holds it (without the header). */
    public String toText(String key, String provenance) {
        StringBuilder sb = new StringBuilder();
        sb.append("table ").append(key).append('\n');
        sb.append("provenance ").append(provenance.replace('\n', ' ')).append('\n');
        for (int i = 0; i < count(); i++) {
            sb.append("cb");
            for (int j = 0; j < ENTRIES; j++) sb.append(' ').append(entry(i, j));
            sb.append('\n');
        }
        sb.append("sha256 ").append(sha256()).append('\n');
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoBcqCodebooks c && c.entryBits == entryBits && Arrays.equals(c.entries, entries);
    }

    @Override
    public int hashCode() {
        return 31 * entryBits + Arrays.hashCode(entries);
    }

    @Override
    public String toString() {
        return "LoBcqCodebooks[" + count() + " x 16, INT" + entryBits + ", sha256 " + sha256().substring(0, 12) + "]";
    }

    /** A table read from the resource, with its provenance line. */
    public record Stored(String key, String provenance, LoBcqCodebooks codebooks) {}

    private static volatile Map<String, Stored> universal;

    /** The committed universal tables by key (read and checked once). */
    public static Map<String, Stored> universalTables() {
        Map<String, Stored> u = universal;
        if (u == null) {
            try (InputStream in = LoBcqCodebooks.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
                u = parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
            }
            universal = u;
        }
        return u;
    }

    /** The universal table for a key, or a one-line error naming the key and the keys that exist. */
    public static LoBcqCodebooks universal(String key, int entryBits) {
        Stored s = universalTables().get(key);
        if (s == null)
            throw new IllegalArgumentException("no universal LO-BCQ codebooks for " + key + " (committed: " + universalTables().keySet()
                    + "); use a '-local' format or regenerate the resource (docs/formats.md §8)");
        if (s.codebooks().entryBits() != entryBits) throw new IllegalStateException(RESOURCE + ": table " + key + " has INT" + s.codebooks().entryBits() + " entries");
        return s.codebooks();
    }

    /** Parses the resource text; each table's digest must match its entries. */
    public static Map<String, Stored> parse(String text) {
        Map<String, Stored> out = new LinkedHashMap<>();
        String key = null, provenance = null;
        List<Integer> entries = new ArrayList<>();
        int line = 0;
        try (BufferedReader r = new BufferedReader(new java.io.StringReader(text))) {
            for (String s; (s = r.readLine()) != null; ) {
                line++;
                s = s.strip();
                if (s.isEmpty() || s.startsWith("#")) continue;
                String[] f = s.split("\\s+", 2);
                switch (f[0]) {
                    case "table" -> { key = f[1]; provenance = ""; entries.clear(); }
                    case "provenance" -> provenance = f.length > 1 ? f[1] : "";
                    case "cb" -> {
                        if (key == null) throw new IllegalArgumentException("codebook before a table line");
                        String[] v = f[1].split("\\s+");
                        if (v.length != ENTRIES) throw new IllegalArgumentException("a codebook line needs 16 entries, got " + v.length);
                        for (String x : v) entries.add(Integer.parseInt(x));
                    }
                    case "sha256" -> {
                        if (key == null) throw new IllegalArgumentException("sha256 before a table line");
                        int bits = Integer.parseInt(key.replaceAll(".*-e(\\d+)-.*", "$1"));
                        LoBcqCodebooks c = new LoBcqCodebooks(bits, entries.stream().mapToInt(Integer::intValue).toArray());
                        if (!c.sha256().equals(f[1])) throw new IllegalArgumentException("table " + key + ": sha256 " + c.sha256() + " does not match the stored " + f[1]);
                        out.put(key, new Stored(key, provenance, c));
                        key = null;
                    }
                    default -> throw new IllegalArgumentException("unknown line '" + s + "'");
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(RESOURCE + " line " + line + ": " + e.getMessage(), e);
        }
        if (key != null) throw new IllegalArgumentException(RESOURCE + ": table " + key + " has no sha256 line");
        return java.util.Collections.unmodifiableMap(out);
    }
}
