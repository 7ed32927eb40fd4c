package io.qbridge.device;

import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.QuantFormat;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the device takes activations (docs/emulator.md §1, §1b and §8a). Every weight format runs with INT8 per
 * token and with MX-INT8 blocks; LO-BCQ activations run with LO-BCQ weights only ({@link #takes}).
 */
public enum ActivationMode {
    /** INT8, symmetric, one fp32 scale per token (the default; docs/emulator.md §1; the emulator's ActivationQuantizer). */
    INT8_PER_TOKEN("int8-token"),
    /** MX-INT8 (OCP MX v1.0): per token, blocks of 32 consecutive elements along K with one E8M0 exponent each (docs/emulator.md §1b; the emulator's MxActivationQuantizer). */
    MXINT8_BLOCK32("mxint8"),
    /**
     * LO-BCQ W4A4: each token encoded online with the layer's LO-BCQ codebooks (docs/emulator.md §8a; the emulator's
     * LoBcqActivations), multiplied on the look-up datapath (§8b, LoBcqKernel); only LO-BCQ weights run in this mode.
     */
    LOBCQ("lobcq"),
    /**
     * Ax-BxP: the FxP8 baseline (INT8 per-token activations, symmetric INT8 group weights {@code rtn-w8g<g>}) with each
     * multiply replaced by the approximate blocked product of the layer's configuration (docs/emulator.md §9; the
     * emulator's AxBxpKernel); only 8-bit symmetric INT weights run in this mode.
     */
    AXBXP("axbxp");

    /** Whether weights of format {@code f} run in this mode (the one rule the devices and {@code qbridge formats} follow). */
    public boolean takes(QuantFormat f) {
        return switch (this) {
            case LOBCQ -> f instanceof LoBcqFormat;
            case AXBXP -> f instanceof io.qbridge.format.IntGroupFormat g && g.bits() == 8 && g.symmetric();
            default -> true;
        };
    }

    /** Elements per MX-INT8 activation block along K. */
    public static final int MX_BLOCK = 32;

    /** The name the CLI and the device description use. */
    private final String id;

    ActivationMode(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** MX-INT8 activation blocks in a row of {@code k} elements. */
    public static int mxBlocks(int k) {
        return (k + MX_BLOCK - 1) / MX_BLOCK;
    }

    /**
     * Pieces of a row of {@code k} columns with weight blocks of {@code weightBlock} and MX-INT8 activation blocks:
     * the cuts of both block grids (each piece is summed exactly and folded once, docs/emulator.md §1b).
     */
    public static int mxPieces(int k, int weightBlock) {
        int pieces = 0;
        for (int c = 0; c < k; pieces++)
            c = Math.min(k, Math.min((c / weightBlock + 1) * weightBlock, (c / MX_BLOCK + 1) * MX_BLOCK));
        return pieces;
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
