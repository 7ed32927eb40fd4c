package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.emulator.EmulatorAccelerator;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.emulator.HlsCases;
import io.qbridge.emulator.HlsVectors;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ax-BxP on the board path ({@code qb_axbxp} through the JNA binding on the software device): each layer runs with the
 * configuration its name has in the device's {@link AxBxpPlan}, and every output is bit-identical to
 * {@link EmulatorAccelerator} in the axbxp mode with the same plan, as are the modelled cycles, time, traffic and
 * energy. Layers of one device carry different configurations (every bit block, both windows, FULL, SIGNIFICANCE and
 * EXPLICIT masks); a layer the plan does not name takes its uniform configuration. What the board cannot take is
 * refused in one line before any buffer is allocated.
 */
@Timeout(600)
class XrtAxBxpTest {
    /** Per weight format: a configuration (canonical string, {@link AxBxpPlan#parse}); each layer of the format's shapes gets it. */
    static final Map<String, String> CONFIGS = new LinkedHashMap<>();

    static {
        CONFIGS.put("rtn-w8g128", "k2-x2d-w3d-sig1");
        CONFIGS.put("rtn-w8g32", "k1-x7s-w5d-sig3");
        CONFIGS.put("rtn-w8g64", "k3-x2d-w2s-m1001");
    }

    static final String UNIFORM = "k4-x1d-w2s-full";
    static final String REAL_LAYER = "encoder.layer.5.intermediate.dense.weight";
    static final String REAL_CONFIG = "k2-x3d-w4d-sig4";

    static final List<String> log = new ArrayList<>();
    static AxBxpPlan plan;
    static XrtAccelerator board, boardWithoutUniform;
    static EmulatorAccelerator emulator;

    /** Layer names: one per format and shape, each mapped to its format's configuration. */
    static String layerName(String format, int[] shape) {
        return format + "." + shape[0] + "x" + shape[1] + "x" + shape[2] + (shape[3] == 1 ? ".edges" : "");
    }

    @BeforeAll
    static void open() {
        Map<String, AxBxp.Config> layers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : CONFIGS.entrySet())
            for (int[] s : HlsVectors.shapes(QuantFormat.parse(e.getKey()))) layers.put(layerName(e.getKey(), s), AxBxpPlan.parse(e.getValue()));
        layers.put(REAL_LAYER, AxBxpPlan.parse(REAL_CONFIG));
        AxBxpPlan named = new AxBxpPlan(null, layers);
        plan = named.withUniform(AxBxpPlan.parse(UNIFORM));
        EmulatorConfig config = EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(ActivationMode.AXBXP);
        Path lib = SwDevice.library();
        XrtAccelerator.Options o = new XrtAccelerator.Options(lib.toString(), 0, SwDevice.manifest(), Duration.ofSeconds(120));
        board = XrtAccelerator.open(o, config.withAxBxp(plan), log::add);
        boardWithoutUniform = XrtAccelerator.open(o, config.withAxBxp(named), log::add);
        emulator = new EmulatorAccelerator(config.withAxBxp(plan));
    }

    @AfterAll
    static void close() {
        for (AutoCloseable c : new AutoCloseable[] {board, boardWithoutUniform, emulator})
            try {
                if (c != null) c.close();
            } catch (Exception ignored) {
                // closing is best effort after the tests
            }
    }

    /** Runs layer {@code name} on the board and on the emulator; returns the board's outputs after checking them bit for bit. */
    static float[] check(String name, PackedTensor p, float[] x, int tokens, float[] bias) {
        LayerHandle hb = board.load(name, p, bias), he = emulator.load(name, p, bias);
        try {
            float[] yb = new float[tokens * p.n()], ye = new float[tokens * p.n()];
            Arrays.fill(yb, Float.NaN);
            RunResult rb = board.run(hb, x, tokens, yb), re = emulator.run(he, x, tokens, ye);
            for (int i = 0; i < yb.length; i++)
                if (Float.floatToIntBits(yb[i]) != Float.floatToIntBits(ye[i]))
                    throw new AssertionError(name + " (" + p.format().id() + "): row " + i / p.n() + " column " + i % p.n() + ": board " + yb[i] + ", emulator " + ye[i]);
            // the modelled figures are the emulator's: the same block-multiplier PE for the layer's configuration
            assertEquals(re.deviceCycles(), rb.deviceCycles(), name);
            assertEquals(Double.doubleToLongBits(re.deviceSeconds()), Double.doubleToLongBits(rb.deviceSeconds()), name);
            assertEquals(Double.doubleToLongBits(re.energyJoules()), Double.doubleToLongBits(rb.energyJoules()), name);
            assertEquals(re.bytesMoved(), rb.bytesMoved(), name);
            assertEquals(re.macs(), rb.macs(), name);
            assertEquals(re.bound(), rb.bound(), name);
            assertTrue(rb.measured().countedCycles() > 0, name + ": the software device ran qb_axbxp (its C-simulation cycle count)");
            return yb;
        } finally {
            board.unload(hb);
            emulator.unload(he);
        }
    }

    @Test
    void eachLayerRunsWithItsOwnConfigurationBitIdenticalToTheEmulator() {
        Random rnd = new Random(17);
        int cases = 0, differFromUniform = 0;
        for (Map.Entry<String, String> e : CONFIGS.entrySet()) {
            QuantFormat f = QuantFormat.parse(e.getKey());
            for (int[] s : HlsVectors.shapes(f)) {
                int n = s[0], k = s[1], tokens = s[2];
                boolean edges = s[3] == 1;
                PackedTensor p = HlsCases.pack(f, HlsCases.weights(n, k, rnd.nextLong(), edges), n, k);
                float[] bias = s[4] == 1 ? HlsCases.weights(1, n, rnd.nextLong(), false) : null;
                float[] x = HlsCases.activations(tokens, k, rnd.nextLong(), edges);
                float[] named = check(layerName(e.getKey(), s), p, x, tokens, bias);
                // the same layer unnamed takes the uniform configuration: also the emulator's bits, and (unless all zero) other values
                float[] uniform = check(null, p, x, tokens, bias);
                if (!Arrays.equals(named, uniform)) differFromUniform++;
                cases++;
            }
        }
        assertTrue(cases >= 12, cases + " layers");
        assertTrue(differFromUniform >= cases - 3, differFromUniform + " of " + cases + " layers differ between their own and the uniform configuration");
        assertTrue(board.describe().name().endsWith("axbxp activations"), board.describe().name());
        assertTrue(board.describe().supportedFormats().contains("rtn-w8g128"), board.describe().toString());
    }

    @Test
    void aRealBgeSmallLayerIsBitIdentical() {
        Linear l = null;
        for (Linear c : EncoderModel.load(EncoderModel.Builtin.BGE_SMALL).encoder().linears()) if (c.name().equals(REAL_LAYER)) l = c;
        assertTrue(l != null, REAL_LAYER);
        QuantFormat f = QuantFormat.parse("rtn-w8g128");
        PackedTensor p = HlsCases.pack(f, l.weightsOutIn(), l.outFeatures(), l.inFeatures());
        float[] x = HlsCases.activations(9, l.inFeatures(), 18, false);
        float[] own = check(REAL_LAYER, p, x, 9, l.bias());
        assertNotEquals(Arrays.toString(own), Arrays.toString(check(null, p, x, 9, l.bias())), "the layer's own configuration reached the kernel");
    }

    @Test
    void whatTheBoardCannotRunIsOneLineBeforeAnyBufferIsAllocated() {
        Random rnd = new Random(19);
        QuantFormat w8 = QuantFormat.parse("rtn-w8g128");
        PackedTensor p = HlsCases.pack(w8, HlsCases.weights(16, 128, rnd.nextLong(), false), 16, 128);
        int before = boardWithoutUniform.device().liveBuffers(), beforeBoard = board.device().liveBuffers();
        // a layer the plan does not name, on a device without a uniform configuration: the emulator's error
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> boardWithoutUniform.load("encoder.unnamed.weight", p, null));
        try (EmulatorAccelerator emu = new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(ActivationMode.AXBXP)
                .withAxBxp(new AxBxpPlan(null, Map.of())))) {
            assertEquals(assertThrows(IllegalArgumentException.class, () -> emu.load("encoder.unnamed.weight", p, null)).getMessage(), e.getMessage());
        }
        assertTrue(e.getMessage().startsWith("layer encoder.unnamed.weight has no Ax-BxP configuration"), e.getMessage());
        // weights that are not the FxP8 baseline's
        QuantFormat w4 = QuantFormat.parse("rtn-w4g128");
        PackedTensor p4 = HlsCases.pack(w4, HlsCases.weights(16, 128, rnd.nextLong(), false), 16, 128);
        e = assertThrows(IllegalArgumentException.class, () -> board.load("any", p4, null));
        assertEquals("--activations axbxp needs 8-bit symmetric INT weights (rtn-w8g<g>, the FxP8 baseline), got rtn-w4g128", e.getMessage());
        // an 8-bit group size the bitstream does not list
        QuantFormat g16 = QuantFormat.parse("rtn-w8g16");
        PackedTensor p16 = HlsCases.pack(g16, HlsCases.weights(16, 128, rnd.nextLong(), false), 16, 128);
        e = assertThrows(IllegalArgumentException.class, () -> board.load("any", p16, null));
        assertEquals("format rtn-w8g16 with axbxp activations is not in bitstream qbridge_swdevice.xclbin (it takes " + board.bitstream().formats() + ")", e.getMessage());
        // a shape beyond the kernel's buffers (the emulator runs it)
        PackedTensor wide = HlsCases.pack(w8, HlsCases.weights(2, 4224, rnd.nextLong(), false), 2, 4224);
        e = assertThrows(IllegalArgumentException.class, () -> board.load("any", wide, null));
        assertEquals("layer 2x4224 in rtn-w8g128 exceeds the kernel's buffers (n <= 65536, k <= 4096, at most 512 blocks of 128 per row)", e.getMessage());
        assertEquals(before, boardWithoutUniform.device().liveBuffers(), "no buffer was allocated");
        assertEquals(beforeBoard, board.device().liveBuffers(), "no buffer was allocated");
    }

    @Test
    void aJobsViewFreesItsLayersWhenClosedAndLeavesTheBoardRunning() {
        XrtAccelerator.Options o = new XrtAccelerator.Options(SwDevice.library().toString(), 0, SwDevice.manifest(), Duration.ofSeconds(120));
        QuantFormat w8 = QuantFormat.parse("rtn-w8g128");
        Random rnd = new Random(23);
        PackedTensor p = HlsCases.pack(w8, HlsCases.weights(16, 128, rnd.nextLong(), false), 16, 128);
        float[] x = HlsCases.activations(2, 128, 24, false);
        try (XrtAccelerator served = XrtAccelerator.open(o, EmulatorConfig.anyFormat(PerfConfig.u55c()), log::add)) {
            int[] afterJob = new int[2];
            for (int job = 0; job < 2; job++) {
                int before = served.device().liveBuffers();
                XrtAccelerator view = served.forJob(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(ActivationMode.AXBXP).withAxBxp(plan));
                LayerHandle h = view.load("job.layer", p, null);
                assertEquals(before + 2, served.device().liveBuffers(), "the view's layer (weights, bias) lives on the served board");
                view.run(h, x, 2, new float[32]);
                view.close();
                afterJob[job] = served.device().liveBuffers();
                assertThrows(IllegalStateException.class, () -> view.load("job.layer", p, null));
            }
            // the first job's run left the kernel's activation and output buffers, which the board keeps for the next
            // job; the second job leaves no more: each job's layers go with its view
            assertEquals(afterJob[0], afterJob[1], "a job's view left buffers behind");
            // the board itself still runs (INT8 per token, its own mode)
            LayerHandle mine = served.load(p, null);
            served.run(mine, x, 2, new float[32]);
            // a view outlives nothing: once the board is closed, a view made before refuses work
            XrtAccelerator late = served.forJob(EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(ActivationMode.AXBXP).withAxBxp(plan));
            served.close();
            assertThrows(IllegalStateException.class, () -> late.load("job.layer", p, null));
            late.close();
        }
    }
}
