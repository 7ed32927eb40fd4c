package io.qbridge.quant;

import io.qbridge.format.LoBcqCodebooks;
import io.qbridge.format.LoBcqEncoder;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.QuantizedTensor;
import io.qbridge.format.ColumnQuantizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * LO-BCQ codebook design ({@code docs/formats.md} §8.3): on blocks of L_b normalised scalars, alternate (i) assigning
 * every block to the codebook of least squared error and (ii) a Lloyd-Max update of each codebook over the pooled
 * scalars of its blocks, from a deterministic initialisation, until the relative drop of the total error J is small;
 * then round the entries to integers, clamp, sort, and assign once more. All arithmetic is in double in a fixed
 * order, so a design is reproducible bit for bit from the same blocks.
 */
public final class LoBcqDesign {
    private LoBcqDesign() {}

    /** The outcome: integer codebooks, J per outer iteration (non-increasing), and the final normalised MSE per kind. */
    public record Result(LoBcqCodebooks codebooks, double[] history, double[] finalMsePerKind, int iterations) {}

    /** Normalised blocks of one tensor kind: {@code values.length / blockScalars} blocks. */
    public record Blocks(String kind, float[] values) {}

    /**
     * Cuts one row-major [rows][k] tensor into normalised blocks by the format's §8.2 rules (E4M3 rounding of the
     * array scale included, so the design sees the inference distribution); arrays whose scale is 0 are skipped, and
     * so is the partial last block of a partial last array (the design takes whole blocks).
     * Appends the blocks' scalars to {@code out}.
     */
    public static void normalisedBlocks(LoBcqFormat f, float[] x, int rows, int k, FloatList out) {
        int la = f.arrayScalars(), ta = f.amaxTarget();
        for (int r = 0; r < rows; r++) {
            float amax = 0;
            for (int c = 0; c < k; c++) amax = Math.max(amax, Math.abs(x[r * k + c]));
            float g = LoBcqEncoder.rowScale(amax, ta);
            for (int a = 0; a < f.arrays(k); a++) {
                int len = f.arrayLength(k, a);
                float am = 0;
                for (int c = 0; c < len; c++) am = Math.max(am, Math.abs(x[r * k + a * la + c]));
                int code = LoBcqEncoder.scaleCode(am, g, ta);
                if (code == 0) continue;
                for (int c = 0; c < len / f.blockScalars() * f.blockScalars(); c++) out.add(LoBcqEncoder.normalise(x[r * k + a * la + c], g, code));
            }
        }
    }

    /** Uniform sample of at most {@code max} blocks (seeded partial Fisher-Yates), kept in their original order. */
    public static float[] sample(float[] blocks, int lb, int max, long seed) {
        int nb = blocks.length / lb;
        if (nb <= max) return blocks.clone();
        int[] idx = new int[nb];
        for (int i = 0; i < nb; i++) idx[i] = i;
        Random rnd = new Random(seed);
        for (int i = 0; i < max; i++) {
            int j = i + rnd.nextInt(nb - i);
            int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
        int[] chosen = Arrays.copyOf(idx, max);
        Arrays.sort(chosen);
        float[] out = new float[max * lb];
        for (int i = 0; i < max; i++) System.arraycopy(blocks, chosen[i] * lb, out, i * lb, lb);
        return out;
    }

    /** Designs N_c codebooks for blocks of {@code lb} scalars, pooled over the kinds given (each kind's MSE reported). */
    public static Result design(int codebooks, int lb, int entryBits, List<Blocks> kinds, LoBcqDesignConfig cfg) {
        int total = 0;
        for (Blocks b : kinds) total += b.values().length;
        if (total == 0 || total % lb != 0) throw new IllegalArgumentException("design needs a positive whole number of blocks of " + lb);
        float[] v = new float[total];
        int off = 0;
        for (Blocks b : kinds) { System.arraycopy(b.values(), 0, v, off, b.values().length); off += b.values().length; }
        int nb = total / lb;
        double[][] cb = initialise(v, nb, lb, codebooks, cfg);
        int[] assign = new int[nb];
        List<Double> history = new ArrayList<>();
        int it = 0;
        for (; it < cfg.maxIterations(); it++) {
            double j = assign(v, nb, lb, cb, assign);
            history.add(j);
            int t = history.size();
            if (t >= 2 && history.get(t - 2) - j <= cfg.relativeTolerance() * history.get(t - 2)) break;
            update(v, nb, lb, cb, assign, cfg);
        }
        int max = LoBcqCodebooks.maxEntry(entryBits);
        int[] entries = new int[codebooks * 16];
        for (int i = 0; i < codebooks; i++) {
            int[] e = new int[16];
            for (int j = 0; j < 16; j++) e[j] = (int) Math.max(-max, Math.min(max, Math.rint(cb[i][j])));
            Arrays.sort(e);
            System.arraycopy(e, 0, entries, i * 16, 16);
        }
        LoBcqCodebooks result = new LoBcqCodebooks(entryBits, entries);
        double[][] ic = new double[codebooks][16];
        for (int i = 0; i < codebooks; i++) for (int j = 0; j < 16; j++) ic[i][j] = result.entry(i, j);
        double[] mse = new double[kinds.size()];
        off = 0;
        for (int kk = 0; kk < kinds.size(); kk++) {
            float[] kv = kinds.get(kk).values();
            int kb = kv.length / lb;
            mse[kk] = kb == 0 ? Double.NaN : assign(kv, kb, lb, ic, new int[kb]) / kv.length;
        }
        return new Result(result, history.stream().mapToDouble(Double::doubleValue).toArray(), mse, it);
    }

    /** Sort blocks by max|v| (ties by position), cut into N_c equal-count groups, 16-level Lloyd-Max on each group. */
    static double[][] initialise(float[] v, int nb, int lb, int codebooks, LoBcqDesignConfig cfg) {
        Integer[] order = new Integer[nb];
        double[] amax = new double[nb];
        for (int b = 0; b < nb; b++) {
            order[b] = b;
            for (int c = 0; c < lb; c++) amax[b] = Math.max(amax[b], Math.abs(v[b * lb + c]));
        }
        Arrays.sort(order, (x, y) -> amax[x] != amax[y] ? Double.compare(amax[x], amax[y]) : Integer.compare(x, y));
        double[][] cb = new double[codebooks][];
        for (int i = 0; i < codebooks; i++) {
            int from = (int) ((long) nb * i / codebooks), to = (int) ((long) nb * (i + 1) / codebooks);
            double[] pool = new double[(to - from) * lb];
            for (int b = from; b < to; b++) for (int c = 0; c < lb; c++) pool[(b - from) * lb + c] = v[order[b] * lb + c];
            Arrays.sort(pool);
            double[] e = new double[16];
            for (int j = 0; j < 16; j++) e[j] = pool.length == 0 ? 0 : pool[(int) Math.min(pool.length - 1, Math.floor((j + 0.5) / 16 * pool.length))];
            lloydMax(pool, e, cfg);
            cb[i] = e;
        }
        return cb;
    }

    /** Nearest entry of sorted e (ties to the lower entry). */
    static int nearest(double[] e, double x) {
        int idx = 0;
        for (int j = 0; j < 15; j++) if ((e[j] + e[j + 1]) * 0.5 < x) idx = j + 1;
        return idx;
    }

    static double blockError(double[] e, float[] v, int off, int lb) {
        double s = 0;
        for (int c = off; c < off + lb; c++) {
            double d = v[c] - e[nearest(e, v[c])];
            s += d * d;
        }
        return s;
    }

    /** The clustering step: every block to its least-error codebook (ties to the lower); returns J. */
    static double assign(float[] v, int nb, int lb, double[][] cb, int[] assign) {
        double j = 0;
        for (int b = 0; b < nb; b++) {
            int best = 0;
            double bestE = blockError(cb[0], v, b * lb, lb);
            for (int i = 1; i < cb.length; i++) {
                double e = blockError(cb[i], v, b * lb, lb);
                if (e < bestE) { bestE = e; best = i; }
            }
            assign[b] = best;
            j += bestE;
        }
        return j;
    }

    /** The codebook step: Lloyd-Max on each cluster's pooled scalars, warm-started; an empty cluster keeps its codebook. */
    static void update(float[] v, int nb, int lb, double[][] cb, int[] assign, LoBcqDesignConfig cfg) {
        int[] count = new int[cb.length];
        for (int b = 0; b < nb; b++) count[assign[b]]++;
        for (int i = 0; i < cb.length; i++) {
            if (count[i] == 0) continue;
            double[] pool = new double[count[i] * lb];
            int p = 0;
            for (int b = 0; b < nb; b++) if (assign[b] == i) for (int c = 0; c < lb; c++) pool[p++] = v[b * lb + c];
            Arrays.sort(pool);
            lloydMax(pool, cb[i], cfg);
        }
    }

    /**
     * 16-level Lloyd-Max on sorted scalars, in place: cells bounded by the midpoints between adjacent entries (a value on
     * a midpoint goes to the lower cell), each entry moves to its cell's mean (an empty cell keeps its entry); stops when
     * the largest move is below the tolerance or after the iteration limit.
     */
    static void lloydMax(double[] sorted, double[] e, LoBcqDesignConfig cfg) {
        if (sorted.length == 0) return;
        double[] prefix = new double[sorted.length + 1];
        for (int i = 0; i < sorted.length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        for (int it = 0; it < cfg.lloydMaxIterations(); it++) {
            double move = 0;
            int lo = 0;
            double[] next = e.clone();
            for (int j = 0; j < 16; j++) {
                int hi = j == 15 ? sorted.length : upperBound(sorted, (e[j] + e[j + 1]) * 0.5); // values <= midpoint
                if (hi > lo) next[j] = (prefix[hi] - prefix[lo]) / (hi - lo);
                move = Math.max(move, Math.abs(next[j] - e[j]));
                lo = Math.max(lo, hi);
            }
            System.arraycopy(next, 0, e, 0, 16);
            if (move < cfg.lloydTolerance()) break;
        }
    }

    /** The number of elements <= x in a sorted array. */
    private static int upperBound(double[] a, double x) {
        int lo = 0, hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** A growable float list for collecting blocks. */
    public static final class FloatList {
        private float[] a = new float[1024];
        private int size;

        public void add(float x) {
            if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[size++] = x;
        }

        public int size() {
            return size;
        }

        public float[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }

    /**
     * The per-tensor ("local") variant: designs codebooks on this tensor's own normalised weight blocks, then quantizes
     * it with them by RTN; the table is stored in the image.
     */
    public static Quantized quantizeLocal(LoBcqFormat f, float[] w, int n, int k, LoBcqDesignConfig cfg) {
        if (!f.local()) throw new IllegalArgumentException(f.id() + " uses the universal codebooks; quantizeLocal is for '-local' formats");
        FloatList blocks = new FloatList();
        normalisedBlocks(f, w, n, k, blocks);
        float[] sampled = sample(blocks.toArray(), f.blockScalars(), cfg.maxBlocksPerKind(), cfg.seed());
        LoBcqCodebooks table = sampled.length == 0 ? zeroTable(f) : design(f.codebooks(), f.blockScalars(), f.entryBits(), List.of(new Blocks("W", sampled)), cfg).codebooks();
        ColumnQuantizer q = f.columnQuantizer(n, k, table);
        float[] deq = new float[n * k];
        double[] row = new double[k];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) row[c] = w[r * k + c];
            for (int c = 0; c < k; c++) {
                if (q.isDecisionPoint(c)) q.prepare(r, c, row, null);
                deq[r * k + c] = q.quantize(r, c, row[c]);
            }
        }
        QuantizedTensor t = q.finish();
        return new Quantized(t, deq);
    }

    private static LoBcqCodebooks zeroTable(LoBcqFormat f) {
        return new LoBcqCodebooks(f.entryBits(), new int[f.codebooks() * 16]);
    }
}
