package io.qbridge.emulator;

import io.qbridge.format.LoBcqEncoder;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.LoBcqTensor;
import io.qbridge.format.PackedTensor;
import java.util.Arrays;

/**
 * The buffers the LO-BCQ kernel ({@code qb_lobcq}, hls/kernels/qbridge_kernels.h) takes, laid out by the project's own
 * code so that the C-simulation vectors ({@link HlsVectors}) and an XRT host send the same bytes:
 * <ul>
 * <li>weights: the codebook table (N_c x 16 signed bytes, {@code docs/formats.md} §8.1 section 0) followed by the image's
 * row scales and records. A {@code -local} image already starts with its table and is sent as it is; for the universal
 * table the host puts {@link LoBcqWeights#table()} (the table the emulator uses) in front.</li>
 * <li>W4A4 activations: each token encoded by {@link LoBcqActivations#encode} (what the emulator's look-up datapath
 * runs on), then packed by {@link LoBcqFormat#pack} as a tensor of {@code tokens} rows: {@code act_scales} = its row
 * scales (tokens fp32), {@code act_codes} = its records.</li>
 * </ul>
 */
public final class LoBcqBuffers {
    private LoBcqBuffers() {}

    /** The weights buffer of {@code p}: table, then the image's row scales and records. */
    public static byte[] weights(PackedTensor p) {
        if (!(p.format() instanceof LoBcqFormat f)) throw new IllegalArgumentException("not an LO-BCQ tensor: " + p.format().id());
        if (f.local()) return p.bytes();
        int[] t = f.universalCodebooks().entries();
        byte[] out = new byte[t.length + p.bytes().length];
        for (int i = 0; i < t.length; i++) out[i] = (byte) t[i];
        System.arraycopy(p.bytes(), 0, out, t.length, p.bytes().length);
        return out;
    }

    /** The W4A4 activation buffers for {@code tokens} rows of {@code x[tokens][k]}, encoded with {@code enc} (the layer's table). */
    public static KernelInputs activations(LoBcqEncoder enc, float[] x, int k, int tokens) {
        LoBcqActivations a = LoBcqActivations.encode(enc, x, tokens, k);
        LoBcqFormat f = enc.format().withLocal(false); // the records and row scales only: the table is the layer's
        byte[] image = f.pack(new LoBcqTensor(f, tokens, k, null, a.g(), a.scales(), a.sel(), a.idx())).bytes();
        return new KernelInputs(Arrays.copyOfRange(image, 4 * tokens, image.length), Arrays.copyOf(image, 4 * tokens));
    }
}
