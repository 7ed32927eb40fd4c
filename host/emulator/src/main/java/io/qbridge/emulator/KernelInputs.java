package io.qbridge.emulator;

import io.qbridge.device.ActivationMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Activations as a kernel's {@code act_codes} and {@code act_scales} buffers take them (hls/kernels/qbridge_kernels.h):
 * quantized by {@link ActivationQuantizer} or {@link MxActivationQuantizer} (the emulator's own code, so a device fed
 * these bytes sees exactly the emulator's activations), then laid out as int8 codes {@code [tokens][k]} and either
 * little-endian fp32 scales per token or {@code [tokens][ceil(k/32)]} E8M0 bytes (exponent + 127).
 *
 * @param codes  int8 codes, {@code tokens * k} bytes
 * @param scales the scale buffer's bytes
 */
public record KernelInputs(byte[] codes, byte[] scales) {
    /** Quantizes rows [0, tokens) of {@code x[tokens][k]} for {@code mode}. */
    public static KernelInputs quantize(ActivationMode mode, float[] x, int k, int tokens) {
        byte[] codes = new byte[tokens * k];
        int[] q = new int[tokens * k];
        byte[] scales;
        if (mode == ActivationMode.MXINT8_BLOCK32) {
            int nb = MxActivationQuantizer.blocks(k);
            int[] exps = new int[tokens * nb];
            MxActivationQuantizer.quantize(x, k, tokens, tokens, q, exps);
            scales = new byte[tokens * nb];
            for (int i = 0; i < scales.length; i++) scales[i] = (byte) (exps[i] + 127);
        } else {
            float[] xs = new float[tokens];
            ActivationQuantizer.quantize(x, k, tokens, q, xs);
            ByteBuffer bb = ByteBuffer.allocate(4 * tokens).order(ByteOrder.LITTLE_ENDIAN);
            for (float s : xs) bb.putFloat(s);
            scales = bb.array();
        }
        for (int i = 0; i < codes.length; i++) codes[i] = (byte) q[i];
        return new KernelInputs(codes, scales);
    }
}
