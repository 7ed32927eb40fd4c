package io.qbridge.emulator;

import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;

/**
 * The block-multiplier PE of Ax-BxP in the cycle and energy model ({@code docs/performance-model.md} §3, all <b>ours</b>):
 * Q unsigned K x K multipliers per PE (default N^2, so one exact FxP8 product takes one cycle); a configuration with
 * |M| kept block products packs floor(Q / |M|) MACs per PE per cycle. Energy per MAC: |M| block products at
 * {@code e_mul8x8 / N^2} each (the INT8 multiplier's energy split over its N^2 block products and their share of the
 * shift/add tree), one 32-bit accumulate, and for a DYNAMIC window a priority encoder and window multiplexer per operand
 * ({@code selectPj} each). FxP8 is the same model with every block product kept and no selection.
 *
 * @param multipliersPerPe Q
 * @param selectPj         energy of one operand's leading-block detection and window multiplexing (DYNAMIC only)
 */
public record AxBxpCost(int multipliersPerPe, double selectPj) {
    /** Q = N^2 at the given bit block; selection taken as one 8-bit add per operand (an assumption). */
    public static AxBxpCost defaults(int bitBlock, PerfConfig c) {
        int n = AxBxp.blocks(bitBlock);
        return new AxBxpCost(n * n, c.pjAdd8());
    }

    /**
     * The PE the performance model prices a layer under {@code config} with (default Q and selection energy): the one
     * statement every device in the axbxp mode (emulator, board path) uses, so their modelled figures cannot disagree.
     */
    public static PerformanceModel.BlockProductPe pe(AxBxp.Config config, PerfConfig c) {
        AxBxpCost cost = defaults(config.x().bitBlock(), c);
        return new PerformanceModel.BlockProductPe(cost.macsPerCycle(config), cost.pjPerMac(config, c), storedBits(config.w(), config.storage()),
                storedBits(config.x(), config.storage()));
    }

    /**
     * Bits one operand takes in memory: 8 with FXP8 storage; PACKED (the spec's §3.5 layout, most significant first)
     * {@code 1 + ob + L·K}, a sign bit, the window offset in {@code ob = ceil(log2(N - L + 1))} bits (DYNAMIC; 0 for
     * STATIC, whose offset is fixed) and the L kept blocks; an exact operand (L = N) stays the 8-bit code.
     */
    public static int storedBits(AxBxp.Operand op, AxBxp.Storage storage) {
        if (storage == AxBxp.Storage.FXP8 || op.exact()) return 8;
        int n = AxBxp.blocks(op.bitBlock()), offsets = n - op.kept() + 1;
        int ob = op.window() == AxBxp.Window.DYNAMIC ? 32 - Integer.numberOfLeadingZeros(offsets - 1) : 0; // ceil(log2(offsets))
        return 1 + ob + op.kept() * op.bitBlock();
    }

    /** MACs one PE completes per cycle under {@code config}. */
    public int macsPerCycle(AxBxp.Config config) {
        return Math.max(1, multipliersPerPe / config.mask().size());
    }

    /** Energy of one MAC in pJ. */
    public double pjPerMac(AxBxp.Config config, PerfConfig c) {
        int n = AxBxp.blocks(config.x().bitBlock());
        double sel = (config.x().window() == AxBxp.Window.DYNAMIC && !config.x().exact() ? selectPj : 0)
                + (config.w().window() == AxBxp.Window.DYNAMIC && !config.w().exact() ? selectPj : 0);
        return config.mask().size() * c.pjMul8x8() / (n * n) + c.pjAdd32() + sel;
    }

    /** FxP8 on the same PE: all N^2 block products, no selection (= e_mul8x8 + e_add32, the model's INT8 MAC). */
    public double fxp8PjPerMac(int bitBlock, PerfConfig c) {
        int n = AxBxp.blocks(bitBlock);
        return pjPerMac(AxBxp.Config.full(bitBlock, n, n, AxBxp.Window.STATIC), c);
    }
}
