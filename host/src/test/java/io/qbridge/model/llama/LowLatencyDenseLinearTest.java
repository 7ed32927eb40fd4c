package io.qbridge.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qbridge.model.DenseLinear;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The decoding-tuned Linear against the project's {@link DenseLinear} on the same slice of a shared array. */
class LowLatencyDenseLinearTest {
    @ParameterizedTest(name = "rows={0} in={1} out={2}")
    @CsvSource({"1,1,1", "1,64,512", "1,33,7", "3,48,1001", "8,96,130", "9,96,130", "20,17,5"})
    void matchesDenseLinear(int rows, int in, int out) {
        SplittableRandom rnd = new SplittableRandom(rows * 1000L + in * 7L + out);
        int offset = 13;
        float[] w = new float[offset + in * out + 5];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] expected = new float[rows * out], actual = new float[rows * out];
        DenseLinear.outIn("ref", w, offset, in, out, null).forward(x, rows, expected);
        LowLatencyDenseLinear lin = new LowLatencyDenseLinear("fast", w, offset, in, out);
        lin.forward(x, rows, actual);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-5f * Math.max(1f, Math.abs(expected[i])), "output " + i);
        float[] copy = lin.weightsOutIn();
        assertArrayEquals(java.util.Arrays.copyOfRange(w, offset, offset + in * out), copy);
        assertEquals(in, lin.inFeatures());
        assertEquals(out, lin.outFeatures());
    }
}
