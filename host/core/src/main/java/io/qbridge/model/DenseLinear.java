package io.qbridge.model;

import io.qbridge.compute.MatMul;
import io.qbridge.compute.VectorOps;
import java.util.Objects;

/**
 * An FP32 linear layer. The weights keep the layout they were loaded in, so a model's weights are read
 * once and never copied per layer or per call:
 * <ul>
 *   <li>{@link Layout#IN_OUT} {@code [K][N]} on the heap (ONNX MatMul initializers), run by the
 *       outer-product kernel that suits many rows (encoders, prompts);</li>
 *   <li>{@link Layout#OUT_IN} {@code [N][K]} (llama2.c, safetensors: filled straight from the memory-mapped
 *       file), run by the dot-product kernel that suits one token at a time. Several layers may share one
 *       array at different offsets (llama2.c stores all layers' wq in one tensor).</li>
 * </ul>
 */
public final class DenseLinear implements Linear {
    /** Where K sits in memory. */
    public enum Layout { IN_OUT, OUT_IN }

    private final String name;
    private final int in;
    private final int out;
    private final Layout layout;
    private final float[] weights;
    private final int offset;
    private final float[] bias;

    private DenseLinear(String name, int in, int out, Layout layout, float[] weights, int offset, float[] bias) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException(name + ": bad shape " + out + "x" + in);
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " values, expected " + out);
        }
        this.name = Objects.requireNonNull(name);
        this.in = in;
        this.out = out;
        this.layout = layout;
        this.weights = weights;
        this.offset = offset;
        this.bias = bias;
    }

    /** Weights given as {@code [K][N]} (ONNX MatMul's B operand). */
    public static DenseLinear inOut(String name, float[] weightsKN, int in, int out, float[] bias) {
        if (weightsKN.length != (long) in * out) {
            throw new IllegalArgumentException(name + ": weights hold " + weightsKN.length + " values, expected " + in + "x" + out);
        }
        return new DenseLinear(name, in, out, Layout.IN_OUT, weightsKN, 0, bias);
    }

    /** Weights as {@code [N][K]} starting at {@code weights[offset]}. */
    public static DenseLinear outIn(String name, float[] weights, int offset, int in, int out, float[] bias) {
        long need = (long) offset + (long) in * out;
        if (offset < 0 || need > weights.length) {
            throw new IllegalArgumentException(name + ": weights need values [" + offset + ", " + need + ") but the array has " + weights.length);
        }
        return new DenseLinear(name, in, out, Layout.OUT_IN, weights, offset, bias);
    }

    /** Weights as {@code [N][K]}, the whole array. */
    public static DenseLinear outIn(String name, float[] weightsNK, int in, int out, float[] bias) {
        if (weightsNK.length != (long) in * out) {
            throw new IllegalArgumentException(name + ": weights hold " + weightsNK.length + " values, expected " + out + "x" + in);
        }
        return outIn(name, weightsNK, 0, in, out, bias);
    }

    @Override public String name() { return name; }
    @Override public int inFeatures() { return in; }
    @Override public int outFeatures() { return out; }
    @Override public float[] bias() { return bias; }
    public Layout layout() { return layout; }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        if (layout == Layout.IN_OUT) {
            MatMul.inOut(x, rows, in, weights, out, y);
        } else {
            MatMul.outIn(x, rows, in, weights, offset, out, y);
        }
        if (bias != null) VectorOps.addBias(y, rows, bias, out);
    }

    @Override
    public float[] weightsOutIn() {
        float[] w = new float[in * out];
        if (layout == Layout.IN_OUT) {
            for (int k = 0; k < in; k++) {
                for (int n = 0; n < out; n++) w[n * in + k] = weights[k * out + n];
            }
        } else {
            System.arraycopy(weights, offset, w, 0, w.length);
        }
        return w;
    }
}
