package io.qbridge.emulator;

import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.PackedTensor;

/**
 * The decode stage for LO-BCQ weights ({@code docs/emulator.md} §8): reads the byte image of
 * {@code docs/formats.md} §8 directly (its own reader, not the format's unpacker or dequantizer, so a test of the
 * two against each other means something) and keeps what the look-up datapath needs.
 *
 * @param table    the codebooks (N_c x 16 entries), from the image for a local format, else the universal table
 * @param selW     [N][arrays * blocksPerArray] selector of each scalar block
 * @param idxW     [N][K] 4-bit entry index of each weight
 * @param sigW     [N][arrays] E4M3 significand of each array scale (0 for a zero array)
 * @param expW     [N][arrays] its exponent, in [-9, 5]
 * @param gW       [N] FP32 row scales
 */
public record LoBcqWeights(LoBcqFormat format, int n, int k, LoBcqCodebooks table, byte[] selW, byte[] idxW, int[] sigW, int[] expW, float[] gW) {

    public static LoBcqWeights decode(PackedTensor p) {
        if (!(p.format() instanceof LoBcqFormat f)) throw new IllegalArgumentException("not an LO-BCQ tensor: " + p.format().id());
        int n = p.n(), k = p.k(), na = f.arrays(k), nbA = f.blocksPerArray(), sb = f.selectorBits(), rb = f.recordBytes();
        int selBytes = rb - 1 - f.arrayScalars() / 2;
        byte[] in = p.bytes();
        int off = 0;
        LoBcqCodebooks table;
        if (f.local()) {
            int[] t = new int[f.codebooks() * LoBcqCodebooks.ENTRIES];
            for (int i = 0; i < t.length; i++) t[i] = in[off++];
            try {
                table = new LoBcqCodebooks(f.entryBits(), t);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("LO-BCQ codebook table in the image: " + e.getMessage(), e);
            }
        } else {
            table = f.universalCodebooks();
        }
        float[] g = new float[n];
        for (int r = 0; r < n; r++, off += 4) {
            g[r] = Float.intBitsToFloat((in[off] & 0xFF) | (in[off + 1] & 0xFF) << 8 | (in[off + 2] & 0xFF) << 16 | (in[off + 3] & 0xFF) << 24);
            if (!(g[r] > 0) || Float.isInfinite(g[r])) throw new IllegalArgumentException("LO-BCQ row " + r + ": row scale " + g[r] + " is not a positive finite FP32 value");
        }
        byte[] sel = new byte[n * na * nbA], idx = new byte[n * k];
        int[] sig = new int[n * na], ex = new int[n * na];
        for (int r = 0; r < n; r++)
            for (int a = 0; a < na; a++, off += rb) {
                int code = in[off] & 0xFF;
                if (code > 0x7E) throw new IllegalArgumentException("LO-BCQ row " + r + ", array " + a + ": scale code 0x" + Integer.toHexString(code) + " is not a positive finite E4M3 value");
                sig[r * na + a] = LoBcqFormat.e4m3Significand(code);
                ex[r * na + a] = LoBcqFormat.e4m3Exponent(code);
                int len = f.arrayLength(k, a), used = f.blocksUsed(k, a);
                for (int j = 0; j < nbA; j++) {
                    int s = WeightDecoder.field(in, ((long) (off + 1) << 3) + (long) j * sb, sb);
                    if (s >= f.codebooks()) throw new IllegalArgumentException("LO-BCQ row " + r + ", array " + a + ", block " + j + ": selector " + s + " names no codebook");
                    if (j >= used && s != 0) throw new IllegalArgumentException("LO-BCQ row " + r + ", array " + a + ", block " + j + " lies past K=" + k + ": selector " + s + ", not 0");
                    sel[(r * na + a) * nbA + j] = (byte) s;
                }
                // a partial last array (docs/formats.md §8.1): positions past K hold code 0 and are never read again
                int i0 = off + 1 + selBytes, c0 = r * k + a * f.arrayScalars();
                for (int i = 0; i < f.arrayScalars(); i++) {
                    int nibble = (in[i0 + i / 2] >>> (4 * (i & 1))) & 0xF;
                    if (i < len) idx[c0 + i] = (byte) nibble;
                    else if (nibble != 0) throw new IllegalArgumentException("LO-BCQ row " + r + ", array " + a + ": padding position " + i + " past K=" + k + " holds code " + nibble + ", not 0");
                }
            }
        return new LoBcqWeights(f, n, k, table, sel, idx, sig, ex, g);
    }

    /** The codebook entry weight (r, c) reads: CB[sel(block)][idx] (the look-up of §8, step 1). */
    public int entry(int r, int c) {
        int la = format.arrayScalars(), na = format.arrays(k);
        int sel = selW[(r * na + c / la) * format.blocksPerArray() + (c % la) / format.blockScalars()];
        return table.entry(sel, idxW[r * k + c]);
    }

    /**
     * The same weights for the INT8-activation datapath (W4A8, §8c): integer {@code entry * sig} on the array's grid,
     * block = the array, scale {@code g * 2^ex} (exact in double), so that {@code w * S} is the exact value
     * {@code g * s * entry} that the format's dequantization rounds once to fp32.
     */
    public DecodedWeights toDecoded() {
        int la = format.arrayScalars(), na = format.arrays(k);
        long[] values = new long[n * k];
        double[] scale = new double[na * n];
        long maxL1 = 0;
        for (int r = 0; r < n; r++)
            for (int a = 0; a < na; a++) {
                int sg = sigW[r * na + a];
                scale[a * n + r] = Math.scalb((double) gW[r], expW[r * na + a]);
                long l1 = 0;
                for (int c = a * la; c < Math.min(k, (a + 1) * la); c++) {
                    long v = (long) entry(r, c) * sg;
                    values[c * n + r] = v;
                    l1 += Math.abs(v);
                }
                maxL1 = Math.max(maxL1, l1);
            }
        return new DecodedWeights(format, n, k, la, values, scale, null, maxL1, 0, 0);
    }
}
