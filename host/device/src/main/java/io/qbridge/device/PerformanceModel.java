package io.qbridge.device;

import io.qbridge.device.RunResult;
import io.qbridge.format.FineQFormat;
import io.qbridge.format.IntGroupFormat;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.MicroScopiQFormat;
import io.qbridge.format.MxFormat;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;

/**
 * Cycle, traffic and energy estimate of one layer run on a PE array ({@code docs/performance-model.md}
 * has the equations and the sources of every default).
 *
 * <p>A run of M tokens through an [N][K] layer is tiled over an R x C array. Output-stationary: tiles of
 * R tokens x C outputs, each streaming K weights and activations; weight-stationary: tiles of R inputs x C
 * outputs, each streaming M tokens. A PE does {@code peWeightBits / w} multiplies of a w-bit weight by an
 * 8-bit activation per cycle (w below the PE width), or needs {@code ceil(w / peWeightBits)} passes (wider).
 * MicroScopiQ outliers add merges on ReCoN (throughput-limited, plus its pipeline latency per tile);
 * FineQ weights take m + 1 temporal-coding pulses instead of one multiply. Memory and compute overlap
 * (double buffering), so the time is the larger of the two and that one names the bound.
 */
public final class PerformanceModel {
    /** What a layer contributes to the model besides its shape ({@code blockSize}: columns per weight scale). */
    public record LayerProfile(QuantFormat format, int n, int k, long packedBytes, long outliers, long pulses, int blocks, int blockSize) {
        /**
         * The profile of an [n][k] layer that is not packed (a shape too large to quantize for an estimate): the
         * byte size from the format's formula, the scale blocks per row as the decoder forms them, and the
         * data-dependent counts from rates measured elsewhere, rounded to whole outliers and pulses.
         *
         * @param outliersPerWeight MicroScopiQ outliers / (n k), at most maxOutliers / blockSize; 0 for other formats
         * @param pulsesPerWeight   FineQ temporal-coding pulses / (n k), in [0, 4] (m + 1 with m <= 3); 0 for other formats
         */
        public static LayerProfile forShape(QuantFormat f, int n, int k, double outliersPerWeight, double pulsesPerWeight) {
            long bytes = f.packedBytes(n, k); // checks the shape against the format
            double weights = (double) n * k;
            if (!(outliersPerWeight >= 0)) throw new IllegalArgumentException("outlier rate must be >= 0, got " + outliersPerWeight);
            if (!(pulsesPerWeight >= 0)) throw new IllegalArgumentException("pulses per weight must be >= 0, got " + pulsesPerWeight);
            if (f instanceof MicroScopiQFormat m) {
                double max = (double) m.maxOutliers() / m.blockSize();
                if (outliersPerWeight > max) throw new IllegalArgumentException(f.id() + " stores at most " + m.maxOutliers() + " outlier(s) per block of "
                        + m.blockSize() + " (rate " + max + "), got rate " + outliersPerWeight);
            } else if (outliersPerWeight != 0) {
                throw new IllegalArgumentException(f.id() + " has no outliers; the outlier rate applies to MicroScopiQ formats only");
            }
            if (f instanceof FineQFormat) {
                if (pulsesPerWeight > 4) throw new IllegalArgumentException("fineq takes at most 4 pulses per weight (m + 1, m <= 3), got " + pulsesPerWeight);
            } else if (pulsesPerWeight != 0) {
                throw new IllegalArgumentException(f.id() + " multiplies; pulses per weight apply to FineQ formats only");
            }
            int blockSize = switch (f) {
                case IntGroupFormat g -> g.groupSize();
                case MxFormat m -> m.blockSize();
                case MicroScopiQFormat m -> m.blockSize();
                case FineQFormat q -> q.groupSize();
                case LoBcqFormat l -> l.arrayScalars();
            };
            int blocks = switch (f) {
                case IntGroupFormat g -> g.groups(k);
                case MxFormat m -> m.blocks(k);
                case MicroScopiQFormat m -> k / m.blockSize();
                case FineQFormat q -> q.groups(k);
                case LoBcqFormat l -> l.arrays(k);
            };
            return new LayerProfile(f, n, k, bytes, Math.round(outliersPerWeight * weights), Math.round(pulsesPerWeight * weights), blocks, blockSize);
        }
    }

    /** The estimate; energies in joules. */
    public record Estimate(long macs, long computeCycles, long memoryCycles, long cycles, double seconds, long dramBytes, long sramBytes,
                           long reconMerges, double macJoules, double auxJoules, double scaleJoules, double sramJoules, double dramJoules,
                           RunResult.Bound bound) {
        public double energyJoules() {
            return macJoules + auxJoules + scaleJoules + sramJoules + dramJoules;
        }
    }

    private final PerfConfig c;
    private final ActivationMode activations;

    /** The model of a device taking INT8 per-token activations. */
    public PerformanceModel(PerfConfig config) {
        this(config, ActivationMode.INT8_PER_TOKEN);
    }

    public PerformanceModel(PerfConfig config, ActivationMode activations) {
        this.c = config;
        this.activations = activations;
    }

    public PerfConfig config() {
        return c;
    }

    /** Bits of the weight operand a PE multiplies (FineQ: not multiplied, see pulses). */
    static int weightBits(QuantFormat f) {
        return switch (f) {
            case IntGroupFormat g -> g.bits();
            case MxFormat m -> m.element().bits();
            case MicroScopiQFormat m -> m.bits();
            case FineQFormat q -> 3;
            case LoBcqFormat l -> l.entryBits(); // the looked-up entry is what the PE multiplies
        };
    }

    /** Array cycles one weight-activation product takes in one PE (fractional: several per cycle). */
    double cyclesPerMac(LayerProfile p) {
        if (p.format() instanceof FineQFormat) return (double) p.pulses() / ((double) p.n() * p.k()); // mean pulses per weight
        int w = weightBits(p.format());
        if (w <= c.peWeightBits()) return 1.0 / (c.peWeightBits() / w);
        return Math.ceil((double) w / c.peWeightBits());
    }

    /**
     * Ax-BxP's block-multiplier PE running one layer's configuration (docs/performance-model.md §3; the emulator's
     * AxBxpCost computes both figures from the configuration).
     *
     * @param macsPerCycle   MACs one PE completes per cycle (floor(Q / |M|))
     * @param pjPerMac       energy of one MAC in pJ (block products, accumulate, window selection)
     * @param weightBits     bits a weight code takes in memory (8: FXP8 storage; fewer: PACKED)
     * @param activationBits bits an activation code takes in memory (likewise)
     */
    public record BlockProductPe(int macsPerCycle, double pjPerMac, int weightBits, int activationBits) {
        public BlockProductPe {
            if (macsPerCycle < 1) throw new IllegalArgumentException("a PE completes at least one MAC per cycle, got " + macsPerCycle);
            if (!(pjPerMac > 0)) throw new IllegalArgumentException("energy per MAC must be > 0, got " + pjPerMac);
            if (weightBits < 1 || weightBits > 8 || activationBits < 1 || activationBits > 8)
                throw new IllegalArgumentException("stored operands take 1..8 bits, got weights " + weightBits + ", activations " + activationBits);
        }

        /** Operands stored as 8-bit codes (FXP8). */
        public BlockProductPe(int macsPerCycle, double pjPerMac) {
            this(macsPerCycle, pjPerMac, 8, 8);
        }
    }

    public Estimate estimate(LayerProfile p, int m) {
        return estimate(p, m, null);
    }

    /**
     * The estimate of a run on Ax-BxP's block-multiplier PE ({@code pe} non-null, with {@link ActivationMode#AXBXP}): the
     * FxP8 traffic of INT8 activations and 8-bit weights (FXP8 storage; PACKED: each code takes the PE's stored bits), {@code 1 / macsPerCycle} cycles
     * per MAC and {@code pjPerMac} per MAC in place of the multiplier and accumulate; scales as INT8 per token.
     */
    public Estimate estimate(LayerProfile p, int m, BlockProductPe pe) {
        if (pe != null && activations != ActivationMode.AXBXP) throw new IllegalArgumentException("a block-product PE is modelled in the axbxp mode only");
        int n = p.n(), k = p.k(), r = c.arrayRows(), cols = c.arrayCols();
        long macs = (long) m * n * k;
        // LO-BCQ W4A4 (docs/performance-model.md §1): a look-up PE, two 6-bit codebook reads and one 6 x 6 multiply per cycle
        LoBcqFormat lobcq = activations == ActivationMode.LOBCQ && p.format() instanceof LoBcqFormat l ? l : null;
        double cpm = lobcq != null ? 1.0 : pe != null ? 1.0 / pe.macsPerCycle() : cyclesPerMac(p);
        long merges = (long) m * p.outliers();
        // ReCoN demand per array step: the outliers among the weights the step touches, one merge per token
        double outlierRate = (double) p.outliers() / ((double) n * k);
        double stepCycles = Math.max(cpm, (double) r * cols * outlierRate / c.reconMergesPerCycle());
        int fill = r + cols - 2 + (p.outliers() > 0 ? c.reconLatencyCycles() : 0);
        long tiles, stream;
        if (c.dataflow() == PerfConfig.Dataflow.OUTPUT_STATIONARY) {
            tiles = ceilDiv(m, r) * ceilDiv(n, cols);
            stream = k;
        } else {
            tiles = ceilDiv(k, r) * ceilDiv(n, cols);
            stream = m;
            fill += r; // loading the R x C weight tile
        }
        long compute = (long) Math.ceil(tiles * (stream * stepCycles + fill));
        // Off-chip traffic: weights once if they fit the buffer, else once per pass over the tokens; INT8
        // activations plus one fp32 scale per token (MX-INT8: one E8M0 byte per 32 elements); fp32 outputs; fp32 bias.
        boolean mx = activations == ActivationMode.MXINT8_BLOCK32;
        // Ax-BxP PACKED storage: the 8-bit weight codes of the image shrink to weightBits each (scales unchanged)
        long weightBytes = pe == null || pe.weightBits() == 8 ? p.packedBytes() : p.packedBytes() - (long) n * k + ceilDiv((long) n * k * pe.weightBits(), 8);
        long weightPasses = weightBytes <= c.weightBufferBytes() ? 1 : ceilDiv(m, r);
        long actScaleBytes = mx ? (long) m * ActivationMode.mxBlocks(k) : 4L * m;
        // LO-BCQ activations travel encoded: one block-array record per L_A scalars plus the token's fp32 g
        long actCodeBytes = lobcq != null ? (long) m * lobcq.arrays(k) * lobcq.recordBytes() : pe != null ? ceilDiv((long) m * k * pe.activationBits(), 8) : (long) m * k;
        long actBytes = actCodeBytes + actScaleBytes;
        long actPasses = actBytes <= c.activationBufferBytes() ? 1 : ceilDiv(n, cols);
        long dram = weightBytes * weightPasses + actBytes * actPasses + 4L * m * n + 4L * n;
        long sram = weightBytes * ceilDiv(m, r) + (actCodeBytes + (mx ? actScaleBytes : 0)) * ceilDiv(n, cols) + 4L * m * n;
        double clock = c.clockMhz() * 1e6;
        long memoryCycles = (long) Math.ceil(dram / c.offChipBytesPerSecond() * clock);
        long cycles = Math.max(compute, memoryCycles);
        RunResult.Bound bound = compute >= memoryCycles ? RunResult.Bound.COMPUTE : RunResult.Bound.MEMORY;
        double pj = 1e-12;
        double macJ, auxJ;
        if (lobcq != null) {
            return loBcqEnergy(lobcq, p, m, macs, compute, memoryCycles, cycles, clock, dram, sram, bound);
        }
        if (pe != null) {
            macJ = macs * pe.pjPerMac() * pj;
            auxJ = 0;
        } else if (p.format() instanceof FineQFormat) {
            // temporal coding: each pulse adds the 8-bit activation, one wide accumulate per weight
            macJ = ((double) m * p.pulses() * c.pjAdd8() + (double) macs * c.pjAdd32()) * pj;
            auxJ = 0;
        } else {
            double mulPj = c.pjMul8x8() * weightBits(p.format()) * 8 / 64.0; // multiplier energy ~ operand-width product
            macJ = macs * (mulPj + c.pjAdd32()) * pj;
            auxJ = merges * 2 * c.pjAdd32() * pj; // ReCoN: shift-and-add of the two partials, then the merge into the sum
        }
        // Block scales: a power of two (MX, MicroScopiQ) is an exponent add plus an aligned add into the fp
        // accumulator (two 32-bit adds); an fp16 scale (INT groups, FineQ) is an fp32 multiply and add.
        double perBlock = powerOfTwoScales(p.format()) ? 2 * c.pjAdd32() : c.pjFpMul32() + c.pjFpAdd32();
        // INT8 per token: one fold per weight block, then one fp32 multiply by the token's scale per output. MX-INT8
        // activations: one fold per piece (weight block cut by the activation blocks of 32), each with one more
        // exponent add for the activation's power of two, and no per-token multiply.
        double scaleJ = mx
                ? (double) m * n * ActivationMode.mxPieces(k, p.blockSize()) * (perBlock + c.pjAdd32()) * pj
                : ((double) m * n * p.blocks() * perBlock + (double) m * n * c.pjFpMul32()) * pj;
        return new Estimate(macs, compute, memoryCycles, cycles, cycles / clock, dram, sram, merges, macJ, auxJ, scaleJ,
                sram * c.pjSramByte() * pj, dram * c.pjDramByte() * pj, bound);
    }

    /**
     * LO-BCQ W4A4 energy (docs/performance-model.md §1, "LO-BCQ"): per MAC two codebook reads (e_lookup each), a 6 x 6
     * multiply and an add into the array's tree; per (token, output, array) the 4 x 4 significand product, the 18 x 8
     * multiply, the shift and the 64-bit add; per output the long-to-float conversion and three fp32 multiplies; and, in
     * {@code auxJoules}, the online activation encoder: per activation scalar and codebook a 4-step threshold search and a
     * float squared-error multiply-add, per scalar one fp32 multiply and divide (normalisation) and an amax compare.
     */
    private Estimate loBcqEnergy(LoBcqFormat f, LayerProfile p, int m, long macs, long compute, long memoryCycles, long cycles, double clock,
                                 long dram, long sram, RunResult.Bound bound) {
        int n = p.n(), k = p.k(), nc = f.codebooks(), eb = f.entryBits();
        double pj = 1e-12, lookup = c.pjAdd8();
        double macJ = macs * (2 * lookup + c.pjMul8x8() * eb * eb / 64.0 + c.pjAdd32()) * pj;
        double perArray = c.pjMul8x8() * 16 / 64.0 + c.pjMul8x8() * 18 * 8 / 64.0 + c.pjAdd32() + 2 * c.pjAdd32();
        double scaleJ = ((double) m * n * f.arrays(k) * perArray + (double) m * n * 3 * c.pjFpMul32()) * pj;
        double perScalar = nc * (4 * c.pjAdd8() + c.pjFpMul32() + c.pjFpAdd32()) + 2 * c.pjFpMul32() + c.pjAdd8();
        double encoderJ = (double) m * k * perScalar * pj;
        return new Estimate(macs, compute, memoryCycles, cycles, cycles / clock, dram, sram, 0, macJ, encoderJ, scaleJ,
                sram * c.pjSramByte() * pj, dram * c.pjDramByte() * pj, bound);
    }

    static boolean powerOfTwoScales(QuantFormat f) {
        return f instanceof MxFormat || f instanceof MicroScopiQFormat;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
