package io.qbridge.format;

import java.util.Arrays;
import java.util.Objects;

/**
 * LO-BCQ codes of an [n][k] matrix, exactly what the byte image holds: {@code table} the per-tensor codebooks
 * (N_c x 16 entries; null for the universal table, which is not in the image), {@code rowScales[r]} the FP32 row
 * scale g, {@code scales[r * arrays + a]} the E4M3 array scale codes, {@code selectors[(r * arrays + a) *
 * blocksPerArray + j]} the codebook of each scalar block, {@code indices[r * k + c]} the 4-bit entry indices.
 */
public record LoBcqTensor(LoBcqFormat format, int n, int k, int[] table, float[] rowScales, byte[] scales, byte[] selectors, byte[] indices)
        implements QuantizedTensor {
    public LoBcqTensor {
        Shapes.check(n, k);
        if (format.local() != (table != null))
            throw new IllegalArgumentException(format.id() + (format.local() ? " stores its codebook table in the tensor" : " uses the universal table; the tensor holds none"));
        if (table != null) new LoBcqCodebooks(format.entryBits(), table); // checks range, order and size
        if (table != null) Shapes.checkLength("table", table.length, (long) format.codebooks() * LoBcqCodebooks.ENTRIES);
        int na = format.arrays(k);
        Shapes.checkLength("row scales", rowScales.length, n);
        Shapes.checkLength("scales", scales.length, (long) n * na);
        Shapes.checkLength("selectors", selectors.length, (long) n * na * format.blocksPerArray());
        Shapes.checkLength("indices", indices.length, (long) n * k);
        for (int i = 0; i < scales.length; i++)
            if ((scales[i] & 0xFF) > 0x7E) throw new IllegalArgumentException("scale[" + i + "] = 0x" + Integer.toHexString(scales[i] & 0xFF) + " is not a positive finite E4M3 code");
        for (int i = 0; i < selectors.length; i++)
            if ((selectors[i] & 0xFF) >= format.codebooks())
                throw new IllegalArgumentException("selector[" + i + "] = " + (selectors[i] & 0xFF) + " names no codebook (there are " + format.codebooks() + ")");
        int nbA = format.blocksPerArray();
        for (int r = 0; r < n; r++) // a block wholly past K (a partial last array) is padding: selector 0
            for (int j = format.blocksUsed(k, na - 1); j < nbA; j++)
                if (selectors[(r * na + na - 1) * nbA + j] != 0)
                    throw new IllegalArgumentException(format.id() + " row " + r + ": block " + j + " of the last array lies past K=" + k + " and must have selector 0, got " + selectors[(r * na + na - 1) * nbA + j]);
        Shapes.checkCodes("indices", indices, LoBcqFormat.INDEX_BITS);
        for (int r = 0; r < n; r++)
            if (!(rowScales[r] > 0) || Float.isInfinite(rowScales[r])) throw new IllegalArgumentException("row scale " + r + " = " + rowScales[r] + " is not a positive finite FP32 value");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoBcqTensor t && t.format.equals(format) && t.n == n && t.k == k && Arrays.equals(t.table, table)
                && Arrays.equals(t.rowScales, rowScales) && Arrays.equals(t.scales, scales) && Arrays.equals(t.selectors, selectors) && Arrays.equals(t.indices, indices);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, n, k, Arrays.hashCode(table), Arrays.hashCode(rowScales), Arrays.hashCode(scales), Arrays.hashCode(selectors), Arrays.hashCode(indices));
    }
}
