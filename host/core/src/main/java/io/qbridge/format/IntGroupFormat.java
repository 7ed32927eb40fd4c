package io.qbridge.format;

/**
 * Group-wise integer quantization (the RTN/GPTQ baseline, {@code docs/formats.md} §2): b-bit codes, one fp16 scale (and, if
 * asymmetric, one fp16 zero point) per row and group of {@code groupSize} consecutive columns.
 *
 * <p>Symmetric <b>(ours)</b>: code k in [-(2^(b-1)-1), 2^(b-1)-1] two's complement, s = fp16(max|w| /
 * (2^(b-1)-1)), value = fp32(k * s). The code -2^(b-1) is never produced (same rule as MX-INT) so the grid
 * is symmetric; at b = 2 this leaves three levels. Asymmetric (as GPTQ): the range [min(w,0), max(w,0)] is
 * mapped onto codes 0..2^b-1, s = fp16(range / (2^b-1)), z = fp16(-lo / s) (an fp16 zero point, not
 * rounded to an integer), q = clamp(rint(w/s + z)), value = fp32(fp32(q - z) * s). A group whose scale
 * rounds to 0 stores code 0 everywhere and (asym) z = 0, so it decodes to exact zeros.
 */
public record IntGroupFormat(int bits, int groupSize, boolean symmetric) implements QuantFormat {
    /** The largest finite fp16 value; larger scales saturate to it. */
    static final float FP16_MAX = 65504f;

    public IntGroupFormat {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) throw new IllegalArgumentException("INT bits must be one of 2, 3, 4, 8, got " + bits);
        if (groupSize < 1) throw new IllegalArgumentException("group size must be >= 1, got " + groupSize);
    }

    @Override
    public String id() {
        return symmetric ? "rtn-w" + bits + "g" + groupSize : "int" + bits + "-asym-g" + groupSize;
    }

    public int groups(int k) {
        return Shapes.ceilDiv(k, groupSize);
    }

    int rowCodeBytes(int k) {
        return (int) Bits.bytesFor((long) k * bits);
    }

    @Override
    public long packedBytes(int n, int k) {
        Shapes.check(n, k);
        return (long) n * rowCodeBytes(k) + 2L * n * groups(k) * (symmetric ? 1 : 2);
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        IntGroupTensor t = QuantFormats.cast(this, q, IntGroupTensor.class);
        int n = t.n(), k = t.k(), rb = rowCodeBytes(k), g = groups(k);
        byte[] out = new byte[(int) packedBytes(n, k)];
        int mask = (1 << bits) - 1;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) Bits.put(out, ((long) r * rb << 3) + (long) c * bits, bits, t.codes()[r * k + c] & mask);
        int off = n * rb;
        for (int i = 0; i < n * g; i++, off += 2) Bits.putShortLE(out, off, t.scales()[i]);
        if (!symmetric) for (int i = 0; i < n * g; i++, off += 2) Bits.putShortLE(out, off, t.zeros()[i]);
        return new PackedTensor(this, n, k, out);
    }

    @Override
    public IntGroupTensor unpackCodes(PackedTensor p) {
        QuantFormats.checkFormat(this, p);
        int n = p.n(), k = p.k(), rb = rowCodeBytes(k), g = groups(k);
        byte[] in = p.bytes();
        byte[] codes = new byte[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) codes[r * k + c] = (byte) Bits.get(in, ((long) r * rb << 3) + (long) c * bits, bits);
        int off = n * rb;
        short[] scales = new short[n * g];
        for (int i = 0; i < n * g; i++, off += 2) scales[i] = Bits.getShortLE(in, off);
        short[] zeros = null;
        if (!symmetric) {
            zeros = new short[n * g];
            for (int i = 0; i < n * g; i++, off += 2) zeros[i] = Bits.getShortLE(in, off);
        }
        return new IntGroupTensor(this, n, k, codes, scales, zeros);
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        IntGroupTensor t = QuantFormats.cast(this, q, IntGroupTensor.class);
        int n = t.n(), k = t.k(), g = groups(k);
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) {
                int gi = r * g + c / groupSize;
                float s = Float.float16ToFloat(t.scales()[gi]);
                float z = symmetric ? 0f : Float.float16ToFloat(t.zeros()[gi]);
                w[r * k + c] = value(t.codes()[r * k + c], s, z);
            }
        return w;
    }

    /** The one dequantization rule (fp32 operations in this order). */
    float value(int code, float s, float z) {
        if (symmetric) return (float) Bits.signExtend(code & ((1 << bits) - 1), bits) * s;
        return ((float) (code & ((1 << bits) - 1)) - z) * s;
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        Shapes.check(n, k);
        return new Quantizer(n, k);
    }

    private final class Quantizer implements ColumnQuantizer {
        private final int n, k, g;
        private final byte[] codes;
        private final short[] scales, zeros;
        private final float[] rowS, rowZ; // current group's decoded parameters per row

        Quantizer(int n, int k) {
            this.n = n;
            this.k = k;
            this.g = groups(k);
            codes = new byte[n * k];
            scales = new short[n * g];
            zeros = symmetric ? null : new short[n * g];
            rowS = new float[n];
            rowZ = new float[n];
        }

        @Override public int n() { return n; }
        @Override public int k() { return k; }
        @Override public int span() { return groupSize; }
        @Override public boolean isDecisionPoint(int col) { return col % groupSize == 0; }

        @Override
        public void prepare(int row, int col, double[] w, double[] hinvDiag) {
            int end = Math.min(k, col + groupSize);
            double lo = 0, hi = 0, maxAbs = 0;
            for (int c = col; c < end; c++) {
                double v = w[c];
                if (!Double.isFinite(v)) throw new IllegalArgumentException("weight at row " + row + ", column " + c + " is " + v);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                maxAbs = Math.max(maxAbs, Math.abs(v));
            }
            int gi = row * g + col / groupSize;
            short s16, z16 = 0;
            if (symmetric) {
                s16 = toFp16(maxAbs / ((1 << (bits - 1)) - 1));
            } else {
                s16 = toFp16((hi - lo) / ((1 << bits) - 1));
                float s = Float.float16ToFloat(s16);
                if (s != 0 && lo != 0) z16 = toFp16(-lo / s); // lo == 0 keeps z = +0, not -0
                zeros[gi] = z16;
            }
            scales[gi] = s16;
            rowS[row] = Float.float16ToFloat(s16);
            rowZ[row] = Float.float16ToFloat(z16);
        }

        @Override
        public float quantize(int row, int col, double w) {
            float s = rowS[row], z = rowZ[row];
            int code;
            if (s == 0) code = 0;
            else if (symmetric) {
                int max = (1 << (bits - 1)) - 1;
                code = (int) Math.max(-max, Math.min(max, Math.rint(w / s))) & ((1 << bits) - 1);
            } else {
                code = (int) Math.max(0, Math.min((1 << bits) - 1, Math.rint(w / s + z)));
            }
            codes[row * k + col] = (byte) code;
            return value(code, s, z);
        }

        @Override
        public QuantizedTensor finish() {
            return new IntGroupTensor(IntGroupFormat.this, n, k, codes, scales, zeros);
        }
    }

    /** fp16 with round-to-nearest-even (Float.floatToFloat16), saturating at the largest finite fp16. */
    static short toFp16(double v) {
        return Float.floatToFloat16((float) Math.min(v, FP16_MAX));
    }
}
