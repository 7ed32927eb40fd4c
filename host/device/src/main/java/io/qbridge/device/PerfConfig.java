package io.qbridge.device;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * Parameters of the cycle and energy model ({@link PerformanceModel}); sources and equations are in
 * {@code docs/performance-model.md}. Every field can be overridden from a properties file
 * ({@link #load}): {@code preset=u55c} picks the base, then any field name as a key replaces its value.
 *
 * @param preset                 name of the base configuration
 * @param arrayRows              PE array rows R (output-stationary: tokens; weight-stationary: K)
 * @param arrayCols              PE array columns C (outputs N)
 * @param clockMhz               array clock
 * @param peWeightBits           weight operand width of one PE pass (MicroScopiQ's multi-precision INT PE: 4)
 * @param weightBufferBytes      on-chip weight buffer (a layer that fits is read from memory once per run)
 * @param activationBufferBytes  on-chip activation buffer
 * @param offChipBytesPerSecond  off-chip bandwidth (U55C HBM2 460e9, U250 DDR4 77e9)
 * @param memoryBytes            off-chip capacity
 * @param dataflow               OUTPUT_STATIONARY or WEIGHT_STATIONARY
 * @param reconMergesPerCycle    outlier merges ReCoN completes per cycle (R * C / 2: one network per PE row, the RTL's
 *                               NUM_SCOPES = 2, each a butterfly that finishes C / 2 pairs per cycle)
 * @param reconLatencyCycles     ReCoN pipeline depth (log2 C butterfly stages), paid once per tile
 * @param pjMul8x8               8b x 8b integer multiply, pJ (Horowitz ISSCC 2014, 45 nm: 0.2)
 * @param pjAdd32                32-bit integer add, pJ (Horowitz: 0.1)
 * @param pjAdd8                 8-bit integer add, pJ (Horowitz: 0.03), one temporal-coding pulse
 * @param pjFpMul32              fp32 multiply, pJ (Horowitz: 3.7), block and activation scaling
 * @param pjFpAdd32              fp32 add, pJ (Horowitz: 0.9)
 * @param pjSramByte             on-chip SRAM access per byte (Horowitz: 64-bit read from 32 KB = 20 pJ, so 2.5)
 * @param pjDramByte             off-chip access per byte (HBM2 ~3.9 pJ/bit = 31; DDR4 ~ Horowitz 1.3-2.6 nJ / 64 bit, we use 160)
 */
public record PerfConfig(String preset, int arrayRows, int arrayCols, double clockMhz, int peWeightBits, long weightBufferBytes,
                         long activationBufferBytes, double offChipBytesPerSecond, long memoryBytes, Dataflow dataflow,
                         double reconMergesPerCycle, int reconLatencyCycles, double pjMul8x8, double pjAdd32, double pjAdd8,
                         double pjFpMul32, double pjFpAdd32, double pjSramByte, double pjDramByte) {
    public enum Dataflow { OUTPUT_STATIONARY, WEIGHT_STATIONARY }

    public PerfConfig {
        if (arrayRows < 1 || arrayCols < 1) throw new IllegalArgumentException("PE array must be at least 1 x 1, got " + arrayRows + " x " + arrayCols);
        if (!(clockMhz > 0)) throw new IllegalArgumentException("clock must be > 0 MHz, got " + clockMhz);
        if (peWeightBits < 1 || peWeightBits > 8) throw new IllegalArgumentException("peWeightBits must be in [1, 8], got " + peWeightBits);
        if (weightBufferBytes < 0 || activationBufferBytes < 0) throw new IllegalArgumentException("buffer sizes must be >= 0");
        if (!(offChipBytesPerSecond > 0)) throw new IllegalArgumentException("off-chip bandwidth must be > 0, got " + offChipBytesPerSecond);
        if (memoryBytes < 1) throw new IllegalArgumentException("memory must be >= 1 byte, got " + memoryBytes);
        if (dataflow == null) throw new IllegalArgumentException("dataflow is null");
        if (!(reconMergesPerCycle > 0)) throw new IllegalArgumentException("reconMergesPerCycle must be > 0, got " + reconMergesPerCycle);
        if (reconLatencyCycles < 0) throw new IllegalArgumentException("reconLatencyCycles must be >= 0");
        for (double e : new double[] {pjMul8x8, pjAdd32, pjAdd8, pjFpMul32, pjFpAdd32, pjSramByte, pjDramByte})
            if (!(e >= 0)) throw new IllegalArgumentException("energies must be >= 0 pJ");
    }

    /**
     * Alveo U55C: HBM2 460 GB/s, 16 GB. Array 64 x 64 at 300 MHz (a size the U55C's DSPs and LUTs can hold
     * for 4-bit PEs; the MicroScopiQ RTL is parameterised, 8 x 8 by default). Buffers: 4 MiB weights, 1 MiB activations.
     */
    public static PerfConfig u55c() {
        return new PerfConfig("u55c", 64, 64, 300, 4, 4L << 20, 1L << 20, 460e9, 16L << 30, Dataflow.OUTPUT_STATIONARY,
                2048, 6, 0.2, 0.1, 0.03, 3.7, 0.9, 2.5, 31);
    }

    /** Alveo U250: DDR4 77 GB/s, 64 GB; same array and clock. */
    public static PerfConfig u250() {
        return new PerfConfig("u250", 64, 64, 300, 4, 4L << 20, 1L << 20, 77e9, 64L << 30, Dataflow.OUTPUT_STATIONARY,
                2048, 6, 0.2, 0.1, 0.03, 3.7, 0.9, 2.5, 160);
    }

    public static PerfConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "u55c" -> u55c();
            case "u250" -> u250();
            default -> throw new IllegalArgumentException("unknown performance preset '" + name + "' (known: u55c, u250)");
        };
    }

    /** A preset with the keys of a properties file applied on top ({@code preset=} picks the base). */
    public static PerfConfig load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return apply(preset(p.getProperty("preset", "u55c")), p);
    }

    public static PerfConfig apply(PerfConfig b, Properties p) {
        for (String key : p.stringPropertyNames())
            if (!key.equals("preset") && !FIELDS.contains(key)) throw new IllegalArgumentException("unknown performance-model key '" + key + "' (known: " + FIELDS + ")");
        try {
            return new PerfConfig(b.preset + (p.size() > (p.containsKey("preset") ? 1 : 0) ? "+overrides" : ""),
                    i(p, "arrayRows", b.arrayRows), i(p, "arrayCols", b.arrayCols), d(p, "clockMhz", b.clockMhz), i(p, "peWeightBits", b.peWeightBits),
                    l(p, "weightBufferBytes", b.weightBufferBytes), l(p, "activationBufferBytes", b.activationBufferBytes),
                    d(p, "offChipBytesPerSecond", b.offChipBytesPerSecond), l(p, "memoryBytes", b.memoryBytes),
                    p.containsKey("dataflow") ? Dataflow.valueOf(p.getProperty("dataflow").trim().toUpperCase(Locale.ROOT)) : b.dataflow,
                    d(p, "reconMergesPerCycle", b.reconMergesPerCycle), i(p, "reconLatencyCycles", b.reconLatencyCycles),
                    d(p, "pjMul8x8", b.pjMul8x8), d(p, "pjAdd32", b.pjAdd32), d(p, "pjAdd8", b.pjAdd8), d(p, "pjFpMul32", b.pjFpMul32),
                    d(p, "pjFpAdd32", b.pjFpAdd32), d(p, "pjSramByte", b.pjSramByte), d(p, "pjDramByte", b.pjDramByte));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in performance-model config: " + e.getMessage());
        }
    }

    private static final java.util.List<String> FIELDS = java.util.Arrays.stream(PerfConfig.class.getRecordComponents())
            .map(java.lang.reflect.RecordComponent::getName).filter(n -> !n.equals("preset")).toList();

    private static int i(Properties p, String k, int def) { return p.containsKey(k) ? Integer.parseInt(p.getProperty(k).trim()) : def; }
    private static long l(Properties p, String k, long def) { return p.containsKey(k) ? Long.parseLong(p.getProperty(k).trim()) : def; }
    private static double d(Properties p, String k, double def) { return p.containsKey(k) ? Double.parseDouble(p.getProperty(k).trim()) : def; }
}
