package io.qbridge.emulator;

import java.util.Arrays;

/**
 * Ax-BxP's approximate blocked product (Elangovan, Jain, Raghunathan; {@code docs/emulator.md} §9). The paper's rule is
 * not available, so this is a parametric superset of its possible readings, every
 * choice <b>ours</b> and a field: an INT8 code q (the FxP8 baseline's) is taken in sign-magnitude, its magnitude
 * (at most 127: 7 bits) cut into N = ceil(7 / bitBlock) <em>bit blocks</em> of {@code bitBlock} bits; each operand keeps
 * {@code kept} consecutive blocks starting at offset o (STATIC: the top ones, o = N - L; DYNAMIC: the window that starts
 * at the leading non-zero block, o = max(0, p - L + 1)); dropped low blocks are truncated. The product keeps the
 * block products in the mask M:
 * <pre>
 *   x (*) w = (-1)^(sx ^ sw) * sum_{(a,b) in M} X_a * W_b * 2^(K (o_x + o_w + a + b))
 * </pre>
 * FULL keeps every pair (= the product of the two truncated operands); SIGNIFICANCE(D) keeps the pairs with
 * a + b >= (L_x - 1) + (L_w - 1) - D; EXPLICIT any L_x x L_w matrix.
 */
public final class AxBxp {
    private AxBxp() {}

    /** Magnitude bits of a symmetric INT8 code (|q| <= 127). */
    public static final int MAGNITUDE_BITS = 7;

    /** How an operand's window of kept bit blocks is placed. */
    public enum Window { STATIC, DYNAMIC }

    /** One data structure's configuration (weights or activations of a layer). */
    public record Operand(int bitBlock, int kept, Window window) {
        public Operand {
            if (bitBlock < 1 || bitBlock > 4) throw new IllegalArgumentException("Ax-BxP bit block must be 1..4 bits, got " + bitBlock);
            if (kept < 1 || kept > blocks(bitBlock)) throw new IllegalArgumentException("Ax-BxP keeps 1.." + blocks(bitBlock) + " blocks of " + bitBlock + " bits, got " + kept);
            if (window == null) throw new IllegalArgumentException("Ax-BxP window is null");
        }

        /** All blocks kept: the exact FxP8 operand. */
        public boolean exact() {
            return kept == blocks(bitBlock);
        }
    }

    /** Blocks of a 7-bit magnitude, N = ceil(7 / K). */
    public static int blocks(int bitBlock) {
        return (MAGNITUDE_BITS + bitBlock - 1) / bitBlock;
    }

    /** The block products kept: mask[a][b] for a < L_x, b < L_w. */
    public record Mask(boolean[][] pairs) {
        public static Mask full(int lx, int lw) {
            boolean[][] m = new boolean[lx][lw];
            for (boolean[] r : m) Arrays.fill(r, true);
            return new Mask(m);
        }

        /** Pairs with a + b >= (lx - 1) + (lw - 1) - d (d = 0: the top pair only; d = lx + lw - 2: all). */
        public static Mask significance(int lx, int lw, int d) {
            if (d < 0) throw new IllegalArgumentException("Ax-BxP significance depth must be >= 0, got " + d);
            boolean[][] m = new boolean[lx][lw];
            for (int a = 0; a < lx; a++) for (int b = 0; b < lw; b++) m[a][b] = a + b >= lx - 1 + lw - 1 - d;
            return new Mask(m);
        }

        public int size() {
            int s = 0;
            for (boolean[] r : pairs) for (boolean p : r) if (p) s++;
            return s;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Mask m && Arrays.deepEquals(m.pairs, pairs);
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(pairs);
        }
    }

    /**
     * How a layer's operands are stored in memory ({@code docs/performance-model.md} §3; the spec's two options): FXP8 keeps
     * the 8-bit codes and selects the window at the PE input (the default); PACKED stores per operand
     * [sign][offset][L·K block bits] ({@link AxBxpCost#storedBits}). The arithmetic is the same either way: the option
     * changes only the modelled memory traffic.
     */
    public enum Storage { FXP8, PACKED }

    /** A layer's configuration: activations (x), weights (w), the product mask, how the operands are stored. */
    public record Config(Operand x, Operand w, Mask mask, Storage storage) {
        /** With FXP8 storage (the default). */
        public Config(Operand x, Operand w, Mask mask) {
            this(x, w, mask, Storage.FXP8);
        }

        /** The same configuration with operands stored as {@code s}. */
        public Config withStorage(Storage s) {
            return new Config(x, w, mask, s);
        }

        public Config {
            if (storage == null) throw new IllegalArgumentException("Ax-BxP storage is null (FXP8 or PACKED)");
            if (x.bitBlock() != w.bitBlock()) throw new IllegalArgumentException("Ax-BxP operands must share the bit block, got " + x.bitBlock() + " and " + w.bitBlock());
            if (mask.pairs().length != x.kept() || mask.pairs()[0].length != w.kept())
                throw new IllegalArgumentException("Ax-BxP mask must be " + x.kept() + " x " + w.kept());
        }

        public static Config full(int bitBlock, int lx, int lw, Window window) {
            return new Config(new Operand(bitBlock, lx, window), new Operand(bitBlock, lw, window), Mask.full(lx, lw));
        }
    }

    /** The window offset o of a magnitude. */
    static int offset(int magnitude, Operand op) {
        int n = blocks(op.bitBlock());
        if (op.window() == Window.STATIC) return n - op.kept();
        if (magnitude == 0) return 0;
        int p = (31 - Integer.numberOfLeadingZeros(magnitude)) / op.bitBlock(); // the leading non-zero block
        return Math.max(0, p - op.kept() + 1);
    }

    /** The approximate product of two INT8 codes (|q| <= 127), exactly as the class comment states. */
    public static int product(int qx, int qw, Config c) {
        int k = c.x().bitBlock(), mask = (1 << k) - 1;
        int mx = Math.abs(qx), mw = Math.abs(qw);
        int ox = offset(mx, c.x()), ow = offset(mw, c.w());
        int sum = 0;
        boolean[][] m = c.mask().pairs();
        for (int a = 0; a < c.x().kept(); a++) {
            int xa = (mx >>> (k * (ox + a))) & mask;
            if (xa == 0) continue;
            for (int b = 0; b < c.w().kept(); b++) {
                if (!m[a][b]) continue;
                int wb = (mw >>> (k * (ow + b))) & mask;
                sum += (xa * wb) << (k * (ox + ow + a + b));
            }
        }
        return (qx < 0) != (qw < 0) ? -sum : sum;
    }

    /*
     * The product split by activation block: x (*) w = sum_{a < L_x} activationPart(x, a) * weightPart(w, a), with
     * activationPart = s_x X_a 2^(K (o_x + a)) and weightPart = s_w sum_{b: (a,b) in M} W_b 2^(K (o_w + b)). Each part is a
     * sub-sum of its operand's blocks, so |part| <= 127. The layer datapath (AxBxpKernel) multiplies the parts, a plain
     * integer dot product per activation block; the tests check the identity against product() for every code pair.
     */

    /** Activation block a of code qx, in place and signed: {@code s_x X_a 2^(K (o_x + a))} (0 when a >= L_x). */
    public static int activationPart(int qx, int a, Config c) {
        if (a >= c.x().kept()) return 0;
        int k = c.x().bitBlock(), mx = Math.abs(qx), ox = offset(mx, c.x());
        int v = ((mx >>> (k * (ox + a))) & ((1 << k) - 1)) << (k * (ox + a));
        return qx < 0 ? -v : v;
    }

    /** The weight blocks that activation block a meets in the mask, in place and signed: {@code s_w sum_{b: M[a][b]} W_b 2^(K (o_w + b))}. */
    public static int weightPart(int qw, int a, Config c) {
        if (a >= c.x().kept()) return 0;
        int k = c.w().bitBlock(), mw = Math.abs(qw), ow = offset(mw, c.w());
        boolean[] row = c.mask().pairs()[a];
        int v = 0;
        for (int b = 0; b < c.w().kept(); b++)
            if (row[b]) v += ((mw >>> (k * (ow + b))) & ((1 << k) - 1)) << (k * (ow + b));
        return qw < 0 ? -v : v;
    }
}
