package io.qbridge.emulator;

import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import java.util.List;
import java.util.Map;

/**
 * Test access to the C-simulation vectors' generators (package-private in {@link HlsVectors}): the same weights,
 * activations and formats the HLS test benches run, so the software-device tests use exactly those cases.
 */
public final class HlsCases {
    private HlsCases() {}

    public static Map<String, List<String>> formats() {
        return HlsVectors.FORMATS;
    }

    public static float[] activations(int tokens, int k, long seed, boolean edges) {
        return HlsVectors.activations(tokens, k, seed, edges);
    }

    public static float[] weights(int n, int k, long seed, boolean edges) {
        return HlsVectors.weights(n, k, seed, edges);
    }

    public static PackedTensor pack(QuantFormat f, float[] w, int n, int k) {
        return HlsVectors.pack(f, w, n, k);
    }
}
