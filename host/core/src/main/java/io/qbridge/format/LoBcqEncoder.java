package io.qbridge.format;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one implementation of LO-BCQ's encoding rules ({@code docs/formats.md} §8.2), shared by the weight quantizer
 * (offline) and the emulator's activation encoder (online), so both pick scales, codebooks and indices the same way.
 * Every step is Java {@code float} arithmetic in the order written, which IEEE 754 makes reproducible:
 * <pre>
 *   g   = amax_row / (T_a * 448)            (1 if amax_row = 0; the smallest subnormal if it underflows to 0)
 *   s   = E4M3_RNE(amax_A / (T_a * g))      saturating at 448; 2^-9 if amax_A > 0 rounds to 0; 0 if amax_A = 0
 *   v   = x / (g * s)                       the product first, then the quotient
 *   idx = #{ j : (c_j + c_{j+1}) / 2 < v }  nearest entry, ties to the lower entry
 *   E_i = sum_k (v_k - c_i[idx_k])^2        float, ascending k; selector = argmin_i E_i, ties to the lower i
 * </pre>
 */
public final class LoBcqEncoder {
    private final LoBcqFormat f;
    private final LoBcqCodebooks cb;
    private final float[] entries;
    /** thresholds[15 i + j] = (c_i[j] + c_i[j+1]) / 2, exact in float. */
    private final float[] thresholds;
    /**
     * {@link #select}'s lanes: 8 codebooks per vector (one 256-bit vector holds preset A's eight; on a machine whose
     * vectors are narrower, its own width), codebooks split in {@code chunks} of them. For chunk ch, threshold j and
     * lane l (codebook ch * LANES + l): laneThreshold = its threshold j, laneStep = c[j+1] - c[j], laneBase = c[0];
     * lanes past the last codebook have +inf thresholds and are never read back.
     */
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED.length() > 8 ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;
    private static final int LANES = S.length();
    private final int chunks;
    private final float[] laneThreshold, laneStep, laneBase;

    public LoBcqEncoder(LoBcqFormat format, LoBcqCodebooks codebooks) {
        if (codebooks.count() != format.codebooks() || codebooks.entryBits() != format.entryBits())
            throw new IllegalArgumentException(format.id() + " needs " + format.codebooks() + " INT" + format.entryBits() + " codebooks, got " + codebooks);
        this.f = format;
        this.cb = codebooks;
        int nc = codebooks.count();
        entries = new float[nc * 16];
        thresholds = new float[nc * 15];
        for (int i = 0; i < nc; i++)
            for (int j = 0; j < 16; j++) {
                entries[i * 16 + j] = codebooks.entry(i, j);
                if (j < 15) thresholds[i * 15 + j] = (codebooks.entry(i, j) + codebooks.entry(i, j + 1)) * 0.5f;
            }
        chunks = (nc + LANES - 1) / LANES;
        laneThreshold = new float[chunks * 15 * LANES];
        laneStep = new float[chunks * 15 * LANES];
        laneBase = new float[chunks * LANES];
        java.util.Arrays.fill(laneThreshold, Float.POSITIVE_INFINITY);
        for (int i = 0; i < nc; i++) {
            int ch = i / LANES, l = i % LANES;
            laneBase[ch * LANES + l] = codebooks.entry(i, 0);
            for (int j = 0; j < 15; j++) {
                laneThreshold[(ch * 15 + j) * LANES + l] = thresholds[i * 15 + j];
                laneStep[(ch * 15 + j) * LANES + l] = codebooks.entry(i, j + 1) - codebooks.entry(i, j);
            }
        }
    }

    public LoBcqFormat format() {
        return f;
    }

    public LoBcqCodebooks codebooks() {
        return cb;
    }

    /** The row scale g of a row whose largest magnitude is {@code amaxRow}. */
    public static float rowScale(float amaxRow, int amaxTarget) {
        if (amaxRow == 0) return 1f;
        float g = amaxRow / (amaxTarget * LoBcqFormat.E4M3_MAX);
        return g == 0 ? Float.MIN_VALUE : g;
    }

    /** The E4M3 code of an array scale. */
    public static int scaleCode(float amaxArray, float g, int amaxTarget) {
        if (amaxArray == 0) return 0;
        float t = amaxArray / (amaxTarget * g);
        int code = FpElement.E4M3.encode(t) & 0x7F;
        return code == 0 ? 1 : code;
    }

    /** The normalised scalar x / (g * s). */
    public static float normalise(float x, float g, int scaleCode) {
        float s = (float) LoBcqFormat.e4m3(scaleCode);
        return x / (g * s);
    }

    /** Index of the entry of codebook {@code i} nearest to v (ties to the lower entry): the thresholds below v, by binary search. */
    public int nearest(int i, float v) {
        int lo = 0, hi = 15, base = i * 15; // count of thresholds < v lies in [lo, hi]
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (thresholds[base + mid] < v) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    public float entry(int i, int idx) {
        return entries[i * 16 + idx];
    }

    /**
     * The codebook of least block error E_i over v[off, off+len), ties to the lower one. All codebooks at once, one
     * vector lane per codebook, the block's scalars in ascending order, so each lane's sum is the §8.2 float sum
     * {@code E_i = ((0 + d_0^2) + d_1^2) + ...} rounded step by step exactly as a scalar loop would: the entry a
     * scalar takes is {@code c_0 + sum of (c_{j+1} - c_j) over the thresholds below it} (small integers, exact in
     * float), which is {@code c[idx]} with idx = #{thresholds < v}, the nearest-entry rule. The scalar form of this
     * rule is the reference the tests hold it to ({@code LoBcqEncoderTest}).
     */
    public int select(float[] v, int off, int len) {
        float[] e = new float[chunks * LANES];
        for (int ch = 0; ch < chunks; ch++) {
            int o = ch * LANES;
            FloatVector base = FloatVector.fromArray(S, laneBase, o);
            FloatVector err = FloatVector.zero(S);
            for (int c = off; c < off + len; c++) {
                FloatVector x = FloatVector.broadcast(S, v[c]);
                FloatVector q = base;
                for (int j = 0; j < 15; j++) {
                    int t = (ch * 15 + j) * LANES;
                    q = q.add(FloatVector.fromArray(S, laneStep, t), FloatVector.fromArray(S, laneThreshold, t).lt(x));
                }
                FloatVector d = x.sub(q);
                err = err.add(d.mul(d));
            }
            err.intoArray(e, o);
        }
        int best = 0;
        for (int i = 1; i < cb.count(); i++) if (e[i] < e[best]) best = i;
        return best;
    }

    /**
     * Encodes one row of k scalars (the last array partial when L_A does not divide k: its amax, blocks and
     * errors over its real scalars only, the blocks wholly past k selector 0): writes the scale codes of its arrays, the selectors of
     * its blocks, the indices of its scalars, and returns g. {@code work} is scratch of at least L_A floats.
     */
    public float encodeRow(float[] x, int xOff, int k, byte[] scales, int sOff, byte[] selectors, int selOff, byte[] indices, int iOff, float[] work) {
        int la = f.arrayScalars(), lb = f.blockScalars(), ta = f.amaxTarget();
        float amax = 0;
        for (int c = 0; c < k; c++) {
            float v = x[xOff + c];
            if (!Float.isFinite(v)) throw new IllegalArgumentException("LO-BCQ cannot encode " + v + " at column " + c);
            amax = Math.max(amax, Math.abs(v));
        }
        float g = rowScale(amax, ta);
        int nb = la / lb;
        for (int a = 0; a < f.arrays(k); a++) {
            int c0 = a * la, len = f.arrayLength(k, a), used = f.blocksUsed(k, a);
            float am = 0;
            for (int c = 0; c < len; c++) am = Math.max(am, Math.abs(x[xOff + c0 + c]));
            int code = scaleCode(am, g, ta);
            scales[sOff + a] = (byte) code;
            for (int j = 0; j < nb; j++) selectors[selOff + a * nb + j] = 0; // padding blocks keep 0
            if (code == 0) {
                for (int c = 0; c < len; c++) indices[iOff + c0 + c] = 0;
                continue;
            }
            for (int c = 0; c < len; c++) work[c] = normalise(x[xOff + c0 + c], g, code);
            for (int j = 0; j < used; j++) {
                int b1 = Math.min(len, (j + 1) * lb); // a partial last block: its real scalars only
                int sel = select(work, j * lb, b1 - j * lb);
                selectors[selOff + a * nb + j] = (byte) sel;
                for (int c = j * lb; c < b1; c++) indices[iOff + c0 + c] = (byte) nearest(sel, work[c]);
            }
        }
        return g;
    }
}
