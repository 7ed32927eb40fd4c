package io.qbridge.device;

import io.qbridge.format.PackedTensor;

/**
 * A device that computes quantized linear layers {@code y = x W^T + b}.
 *
 * <p>Weights are loaded once ({@link #load}) and stay resident; each {@link #run} quantizes the activations
 * the way the device takes them (its {@link ActivationMode}: INT8 symmetric per token, or MX-INT8 blocks of 32
 * along K; {@code docs/emulator.md} §1 and §1b), computes, and
 * dequantizes into FP32. Implementations are safe to call from several threads at once.
 */
public interface Accelerator extends AutoCloseable {
    DeviceInfo describe();

    /**
     * Makes {@code weights} ([N][K] packed) and {@code bias} (length N or null) device-resident.
     *
     * @throws IllegalArgumentException if the device does not support the format, the bias does not match
     *                                  N, or the weights do not fit in the device memory
     */
    LayerHandle load(PackedTensor weights, float[] bias);

    /**
     * As {@link #load(PackedTensor, float[])} for the model's layer {@code layer}: a device whose arithmetic is
     * configured per layer (the emulator's Ax-BxP mode, {@link ActivationMode#AXBXP}) looks its configuration up by this
     * name; every other device ignores it.
     */
    default LayerHandle load(String layer, PackedTensor weights, float[] bias) {
        return load(weights, bias);
    }

    /**
     * A hint that most calls from now on carry one or a few tokens (a decoder generating text): a device may then
     * prepare a matrix-vector path for every layer as it loads, instead of on a layer's first such call. Speed only:
     * results are the same bits either way. Devices without such a path ignore it.
     */
    default void expectDecoding() {}

    /**
     * Whether {@link #load} may be called from several threads at once. A device whose load is work on the host (the
     * emulator decodes and plans each layer) says so, and a model's layers are then loaded in parallel; the default is
     * one load at a time.
     */
    default boolean loadsConcurrently() {
        return false;
    }

    /**
     * Computes {@code y[rows][N] = x[rows][K] W^T + b} for a loaded layer, overwriting {@code y}.
     *
     * @throws IllegalArgumentException if the handle is not this device's (or was unloaded) or the arrays
     *                                  are too short
     */
    RunResult run(LayerHandle handle, float[] x, int rows, float[] y);

    /**
     * Runs several loaded layers on the same activations: {@code ys[i][rows][N_i] = x[rows][K] W_i^T + b_i}, every
     * layer with the same K (a decoder's q/k/v, or w1/w3, which read one normalised vector). The outputs are the
     * same bits as {@link #run} on each layer in turn (the activation quantization is per token over the same x);
     * a device may quantize x once and run the layers in one pass, which is what decoding gains. Returns each
     * layer's result, in order.
     *
     * @throws IllegalArgumentException as {@link #run}, or if the layers' K differ or the arrays' counts do not match
     */
    default RunResult[] runShared(LayerHandle[] handles, float[] x, int rows, float[][] ys) {
        if (handles.length != ys.length) throw new IllegalArgumentException(handles.length + " layers but " + ys.length + " output arrays");
        RunResult[] out = new RunResult[handles.length];
        for (int i = 0; i < handles.length; i++) {
            if (handles[i].k() != handles[0].k())
                throw new IllegalArgumentException("layers sharing one input need one K, got " + handles[0].k() + " and " + handles[i].k());
            out[i] = run(handles[i], x, rows, ys[i]);
        }
        return out;
    }

    /** Releases a layer's memory; a later run with the handle fails. */
    void unload(LayerHandle handle);

    @Override
    void close();
}
