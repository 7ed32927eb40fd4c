package io.qbridge.format;

/** Shape checks shared by every format, with messages that name the problem. */
public final class Shapes {
    private Shapes() {}

    public static void check(int n, int k) {
        if (n <= 0 || k <= 0) throw new IllegalArgumentException("shape must be positive, got n=" + n + ", k=" + k);
        if ((long) n * k > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("shape " + n + "x" + k + " has more than 2^31 elements");
    }

    public static void checkWeights(float[] w, int n, int k) {
        check(n, k);
        if (w == null) throw new IllegalArgumentException("weights are null");
        if (w.length != n * k) throw new IllegalArgumentException("weights length " + w.length + " does not match shape " + n + "x" + k + " (= " + (long) n * k + ")");
    }

    static void checkLength(String what, int actual, long expected) {
        if (actual != expected) throw new IllegalArgumentException(what + " length must be " + expected + ", got " + actual);
    }

    /** Every code must fit its field, so that pack loses nothing and unpack(pack(q)) equals q. */
    static void checkCodes(String what, byte[] codes, int bits) {
        for (int i = 0; i < codes.length; i++)
            if ((codes[i] & 0xFF) >>> bits != 0)
                throw new IllegalArgumentException(what + "[" + i + "] = " + (codes[i] & 0xFF) + " does not fit in " + bits + " bits");
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
