package io.qbridge.format;

/**
 * OCP Microscaling v1.0 formats: blocks of {@code blockSize} (32) consecutive elements along K share one
 * E8M0 scale. Quantization follows §6.3: X = 2^(floor(log2 max|v|) - emax_elem), P_i = element(v_i / X)
 * rounded to nearest even and saturated. Non-finite inputs (§5.2 / §6.3 as we read them, and what the OCP
 * reference library does): a block holding any NaN or +-Inf gets the NaN scale 0xFF and all-zero element
 * codes, so it decodes to NaN everywhere ("if X is NaN all V_i are NaN irrespective of P_i").
 */
public record MxFormat(ElementCodec element, int blockSize) implements QuantFormat {
    public static final MxFormat MXINT8 = new MxFormat(MxInt.INT8, 32);
    public static final MxFormat MXFP8_E4M3 = new MxFormat(FpElement.E4M3, 32);
    public static final MxFormat MXFP8_E5M2 = new MxFormat(FpElement.E5M2, 32);
    public static final MxFormat MXFP6_E2M3 = new MxFormat(FpElement.E2M3, 32);
    public static final MxFormat MXFP6_E3M2 = new MxFormat(FpElement.E3M2, 32);
    public static final MxFormat MXFP4 = new MxFormat(FpElement.E2M1, 32);

    public MxFormat {
        if (element == null) throw new IllegalArgumentException("element codec is null");
        if (element instanceof MxInt i && i.bits() != 8) throw new IllegalArgumentException("OCP MX defines only INT8 integer elements, got INT" + i.bits());
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
    }

    @Override
    public String id() {
        String base = switch (element) {
            case MxInt i -> "mxint8";
            case FpElement f -> switch (f) {
                case E4M3 -> "mxfp8-e4m3";
                case E5M2 -> "mxfp8-e5m2";
                case E2M3 -> "mxfp6-e2m3";
                case E3M2 -> "mxfp6-e3m2";
                case E2M1 -> "mxfp4";
            };
        };
        return blockSize == 32 ? base : base + "-b" + blockSize;
    }

    public int blocks(int k) {
        return Shapes.ceilDiv(k, blockSize);
    }

    int rowCodeBytes(int k) {
        return (int) Bits.bytesFor((long) k * element.bits());
    }

    @Override
    public long packedBytes(int n, int k) {
        Shapes.check(n, k);
        return (long) n * rowCodeBytes(k) + (long) n * blocks(k);
    }

    @Override
    public PackedTensor pack(QuantizedTensor q) {
        MxTensor t = QuantFormats.cast(this, q, MxTensor.class);
        int n = t.n(), k = t.k(), rb = rowCodeBytes(k), eb = element.bits(), nb = blocks(k);
        byte[] out = new byte[(int) packedBytes(n, k)];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) Bits.put(out, ((long) r * rb << 3) + (long) c * eb, eb, t.codes()[r * k + c] & ((1 << eb) - 1));
        System.arraycopy(t.scales(), 0, out, n * rb, n * nb);
        return new PackedTensor(this, n, k, out);
    }

    @Override
    public MxTensor unpackCodes(PackedTensor p) {
        QuantFormats.checkFormat(this, p);
        int n = p.n(), k = p.k(), rb = rowCodeBytes(k), eb = element.bits(), nb = blocks(k);
        byte[] codes = new byte[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) codes[r * k + c] = (byte) Bits.get(p.bytes(), ((long) r * rb << 3) + (long) c * eb, eb);
        byte[] scales = new byte[n * nb];
        System.arraycopy(p.bytes(), n * rb, scales, 0, n * nb);
        return new MxTensor(this, n, k, codes, scales);
    }

    @Override
    public float[] dequantize(QuantizedTensor q) {
        MxTensor t = QuantFormats.cast(this, q, MxTensor.class);
        int n = t.n(), k = t.k(), nb = blocks(k);
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++) w[r * k + c] = value(t.codes()[r * k + c], t.scales()[r * nb + c / blockSize] & 0xFF);
        return w;
    }

    /** The one dequantization rule: element value times 2^shared, rounded once to fp32. */
    float value(int code, int scaleCode) {
        if (scaleCode == E8M0.NAN) return Float.NaN;
        return (float) Math.scalb(element.decode(code & ((1 << element.bits()) - 1)), scaleCode - 127);
    }

    @Override
    public ColumnQuantizer columnQuantizer(int n, int k) {
        Shapes.check(n, k);
        return new Quantizer(n, k);
    }

    private final class Quantizer implements ColumnQuantizer {
        private final int n, k, nb;
        private final byte[] codes, scales;
        private final int[] rowScale; // E8M0 code of the current block per row

        Quantizer(int n, int k) {
            this.n = n;
            this.k = k;
            nb = blocks(k);
            codes = new byte[n * k];
            scales = new byte[n * nb];
            rowScale = new int[n];
        }

        @Override public int n() { return n; }
        @Override public int k() { return k; }
        @Override public int span() { return blockSize; }
        @Override public boolean isDecisionPoint(int col) { return col % blockSize == 0; }

        @Override
        public void prepare(int row, int col, double[] w, double[] hinvDiag) {
            int end = Math.min(k, col + blockSize);
            double max = 0;
            boolean special = false;
            for (int c = col; c < end; c++) {
                if (!Double.isFinite(w[c])) special = true;
                else max = Math.max(max, Math.abs(w[c]));
            }
            int code = special ? E8M0.NAN : E8M0.encode(E8M0.sharedExponent(max, element.emax()));
            rowScale[row] = code;
            scales[row * nb + col / blockSize] = (byte) code;
        }

        @Override
        public float quantize(int row, int col, double w) {
            int sc = rowScale[row];
            int code = sc == E8M0.NAN ? 0 : element.encode(Math.scalb(w, 127 - sc));
            codes[row * k + col] = (byte) code;
            return value(code, sc);
        }

        @Override
        public QuantizedTensor finish() {
            return new MxTensor(MxFormat.this, n, k, codes, scales);
        }
    }
}
