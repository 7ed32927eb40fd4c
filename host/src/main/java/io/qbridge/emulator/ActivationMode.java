package io.qbridge.emulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the device takes activations (docs/emulator.md §1 and §1b). The weights' formats are independent
 * of this choice: every format runs in either mode.
 */
public enum ActivationMode {
    /** INT8, symmetric, one fp32 scale per token (the default; formats spec §5, {@link ActivationQuantizer}). */
    INT8_PER_TOKEN("int8-token"),
    /** MX-INT8 (OCP MX v1.0): per token, blocks of 32 consecutive elements along K with one E8M0 exponent each ({@link MxActivationQuantizer}). */
    MXINT8_BLOCK32("mxint8"),
    /**
     * LO-BCQ W4A4: each token encoded online with the layer's LO-BCQ codebooks ({@link LoBcqActivations}), multiplied on
     * the look-up datapath ({@link LoBcqKernel}, docs/emulator.md §8); only LO-BCQ weights run in this mode.
     */
    LOBCQ("lobcq");

    /** The name the CLI and the device description use. */
    private final String id;

    ActivationMode(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** The mode named {@code name} (its {@link #id()}, any case). */
    public static ActivationMode parse(String name) {
        if (name != null)
            for (ActivationMode m : values())
                if (m.id.equals(name.trim().toLowerCase(Locale.ROOT))) return m;
        throw new IllegalArgumentException("unknown activation mode '" + name + "' (valid: " + validNames() + ")");
    }

    /** The valid names, comma-separated. */
    public static String validNames() {
        return Arrays.stream(values()).map(ActivationMode::id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
