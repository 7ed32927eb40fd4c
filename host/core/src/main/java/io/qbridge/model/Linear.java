package io.qbridge.model;

/**
 * A linear layer {@code y = x W^T + b}: the one place a model multiplies by a weight matrix.
 *
 * <p>Shapes follow {@code docs/formats.md} §0: {@code W} is {@code [outFeatures N][inFeatures K]} and K is the
 * reduction dimension. Activations are row-major {@code [rows][K]}, outputs {@code [rows][N]}; a row is a
 * token. Implementations are the FP32 {@link DenseLinear} and, in later packages, packed quantized weights
 * on an accelerator or its emulator. Implementations are safe to call from several threads at once.
 */
public interface Linear {
    /** The tensor name this layer was loaded from (for reports and quantized containers). */
    String name();

    /** K: the length of an input row. */
    int inFeatures();

    /** N: the length of an output row. */
    int outFeatures();

    /** Computes {@code y[rows][N] = x[rows][K] W^T + b}, overwriting {@code y}. */
    void forward(float[] x, int rows, float[] y);

    /**
     * The FP32 weights as {@code [N][K]} row-major, a fresh array (used by quantizers, which read each
     * layer once). Layers whose weights are not FP32 return their exact dequantized values.
     */
    float[] weightsOutIn();

    /** The bias of length N, or {@code null}. */
    float[] bias();
}
