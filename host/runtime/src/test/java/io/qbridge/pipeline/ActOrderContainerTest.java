package io.qbridge.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.model.Linear;
import io.qbridge.model.ModelFormatException;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.runtime.AcceleratorLinear;
import io.qbridge.runtime.RunStats;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPTQ act-order layers in a {@code .qbz}: the packed columns stay in quantization order, the permutation is
 * stored and validated, the host path gets the weights back in input order and the device path gathers its
 * input. Real MiniLM layers; a synthetic Hessian with a shuffled diagonal makes the permutation non-trivial
 * without a calibration pass.
 */
class ActOrderContainerTest {
    @TempDir Path dir;
    private static EncoderModel fp32;

    @org.junit.jupiter.api.BeforeAll
    static void load() {
        fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
    }

    private static double[] shuffledDiagonalHessian(int k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] h = new double[k * k];
        for (int i = 0; i < k; i++) h[i * k + i] = 0.1 + r.nextDouble() * 10;
        for (int i = 0; i + 1 < k; i++) h[i * k + i + 1] = h[(i + 1) * k + i] = 0.01; // a little correlation
        return h;
    }

    private static EncoderQuantizer.Result actOrderLayers(String recipe) {
        QuantRecipe rec = QuantRecipe.parse(recipe);
        assertTrue(rec.gptq().actOrder());
        List<QuantizedLayer> layers = new ArrayList<>();
        Map<String, QuantizedLayer> byName = new LinkedHashMap<>();
        List<Linear> lins = fp32.encoder().linears();
        for (Linear lin : List.of(lins.get(0), lins.get(2))) { // query and value projections of block 0 (384 x 384)
            QuantizedLayer q = EncoderQuantizer.quantizeLayer(lin, rec, shuffledDiagonalHessian(lin.inFeatures(), lin.name().hashCode()));
            assertNotNull(q.inputPerm(), "act-order produced a permutation");
            layers.add(q);
            byName.put(q.name(), q);
        }
        return new EncoderQuantizer.Result(rec, layers, EncoderQuantizer.withLayers(fp32, byName), Map.of("algorithm", "gptq-act"));
    }

    @Test
    void actOrderContainerRoundTripsOnHostAndDevice() throws Exception {
        for (String recipe : List.of("microscopiq-w4@gptq-act", "gptq-w4g128@gptq-act")) {
            EncoderQuantizer.Result r = actOrderLayers(recipe);
            Path file = dir.resolve("act.qbz");
            QuantizedEncoders.save(file, EncoderModel.Builtin.MINILM, r);
            QuantizedEncoders.Loaded loaded = QuantizedEncoders.load(file);
            assertEquals(r.layers().size(), loaded.layers().size());
            for (int i = 0; i < r.layers().size(); i++) {
                QuantizedLayer a = r.layers().get(i), b = loaded.layers().get(i);
                assertEquals(a.packed(), b.packed(), recipe);
                assertArrayEquals(a.inputPerm(), b.inputPerm(), recipe);
                // The host path: loaded weights back in input order, equal to GPTQ's own dequantized output bit for bit.
                assertArrayEquals(a.dequantized(), b.dequantized(), recipe + " " + a.name());
            }
            List<int[]> ids = fp32.tokenize(List.of("The committee adopted the report.", "We vote tomorrow."), null);
            float[][] x = r.model().embedIds(ids, 4096), y = loaded.model().embedIds(ids, 4096);
            for (int s = 0; s < x.length; s++) assertArrayEquals(x[s], y[s], "sentence " + s);

            // The device path: the emulator holds the permuted image and gathers x[perm[j]]; its output agrees with
            // the host's x W^T (within INT8 activation error), and without the gather it would not.
            QuantizedLayer q = loaded.layers().get(1);
            int n = q.packed().n(), k = q.packed().k(), rows = 3;
            float[] in = new float[rows * k];
            SplittableRandom rnd = new SplittableRandom(3);
            for (int i = 0; i < in.length; i++) in[i] = (float) rnd.nextGaussian();
            float[] host = new float[rows * n];
            q.toHostLinear().forward(in, rows, host);
            try (EmulatorAccelerator dev = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()))) {
                float[] gathered = new float[rows * n], ungathered = new float[rows * n];
                AcceleratorLinear.of(q, dev, new RunStats()).forward(in, rows, gathered);
                new AcceleratorLinear(q.name(), dev, q.packed(), q.bias(), new RunStats()).forward(in, rows, ungathered);
                double ref = 0, errWith = 0, errWithout = 0;
                for (int i = 0; i < host.length; i++) {
                    ref += (double) host[i] * host[i];
                    errWith += (double) (gathered[i] - host[i]) * (gathered[i] - host[i]);
                    errWithout += (double) (ungathered[i] - host[i]) * (ungathered[i] - host[i]);
                }
                assertTrue(errWith < 1e-3 * ref, recipe + ": device with gather, relative error " + errWith / ref);
                assertTrue(errWithout > 0.1 * ref, recipe + ": device without gather should be wrong, relative error " + errWithout / ref);
                assertArrayEquals(q.dequantized(), AcceleratorLinear.of(q, dev, new RunStats()).weightsOutIn());
            }
        }
    }

    @Test
    void corruptPermutationIsRejected() throws Exception {
        Path file = dir.resolve("act.qbz");
        EncoderQuantizer.Result r = actOrderLayers("mxfp4@gptq-act");
        QuantizedEncoders.save(file, EncoderModel.Builtin.MINILM, r);
        String s = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        int[] perm = io.qbridge.container.QbzFile.open(file).inputPerm(r.layers().get(0).name());
        String array = json(perm);
        assertTrue(s.contains("\"input_perm\" : " + array), "the manifest holds the permutation as written");
        // Edits of the same number of characters, so only the permutation is wrong.
        int i = 0, j = 1;
        while (String.valueOf(perm[i]).length() != String.valueOf(perm[j]).length()) j++;
        int[] dup = perm.clone();
        dup[j] = dup[i];
        assertTrue(reject(s.replace(array, json(dup))).contains("input_perm is not a permutation: " + perm[i] + " appears twice"));
        int t = 0;
        while (perm[t] < 100) t++; // a 3-digit entry becomes 999: same length, out of range
        int[] out = perm.clone();
        out[t] = 999;
        String m = reject(s.replace(array, json(out)));
        assertTrue(m.contains("input_perm[" + t + "] = 999 is outside [0, 384)"), m);
        // a 3-digit entry becomes a 1-character string: ", 123," -> ", \"2\","
        assertTrue(reject(s.replace(array, array.replaceFirst(", (\\d)(\\d)(\\d),", ", \"$2\","))).contains("non-integer"));
        // and the writer refuses a wrong permutation up front
        QuantizedLayer q = r.layers().get(0);
        int[] bad = q.inputPerm().clone();
        bad[1] = bad[0];
        assertThrows(IllegalArgumentException.class, () -> new io.qbridge.container.QbzEntry.Packed(q.name(), q.packed(), bad));
        assertThrows(IllegalArgumentException.class, () -> new io.qbridge.container.QbzEntry.Packed(q.name(), q.packed(), new int[5]));
    }

    private static String json(int[] a) {
        StringBuilder b = new StringBuilder("[ ");
        for (int i = 0; i < a.length; i++) b.append(i == 0 ? "" : ", ").append(a[i]);
        return b.append(" ]").toString();
    }

    private String reject(String content) throws Exception {
        Path bad = dir.resolve("bad.qbz");
        Files.write(bad, content.getBytes(StandardCharsets.ISO_8859_1));
        return assertThrows(ModelFormatException.class, () -> QuantizedEncoders.load(bad)).getMessage();
    }
}
