package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.ActivationMode;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.emulator.HlsCases;
import io.qbridge.emulator.HlsVectors;
import io.qbridge.emulator.KernelInputs;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The proof of the board path on the software device: for every format the kernels build and every activation
 * mode its kernel takes (LO-BCQ: W4A8 in int8-token and mxint8, W4A4 in lobcq), {@link XrtAccelerator} gives outputs bit-identical to the emulator, on the C-simulation's random and edge
 * layers and on real bge-small layers. The activation bytes it sends come from {@link KernelInputs}, the same code that
 * writes the C-simulation vectors ({@link HlsVectors#make}), so emulator, C-simulation and the device see one input.
 */
@Timeout(600)
class XrtAcceleratorTest {
    static final Map<ActivationMode, XrtAccelerator> devices = new LinkedHashMap<>();
    static final List<String> log = new ArrayList<>();

    @BeforeAll
    static void open() {
        Path lib = SwDevice.library();
        for (ActivationMode m : List.of(ActivationMode.INT8_PER_TOKEN, ActivationMode.MXINT8_BLOCK32, ActivationMode.LOBCQ))
            devices.put(m, XrtAccelerator.open(new XrtAccelerator.Options(lib.toString(), 0, SwDevice.manifest(), Duration.ofSeconds(120)),
                    EmulatorConfig.anyFormat(PerfConfig.u55c()).withActivations(m), log::add));
    }

    @AfterAll
    static void close() {
        devices.values().forEach(XrtAccelerator::close);
    }

    /** Runs one case on the device and checks it against the emulator (via the C-simulation case) bit for bit. */
    static void check(String name, PackedTensor p, ActivationMode mode, float[] x, int tokens, float[] bias) {
        HlsVectors.Case c = HlsVectors.make(name, p, mode, x, tokens, bias);
        XrtAccelerator dev = devices.get(mode);
        LayerHandle h = dev.load(p, bias);
        try {
            float[] y = new float[tokens * p.n()];
            java.util.Arrays.fill(y, Float.NaN);
            RunResult r = dev.run(h, x, tokens, y);
            for (int i = 0; i < y.length; i++)
                if (Float.floatToRawIntBits(y[i]) != Float.floatToRawIntBits(c.expected()[i]))
                    throw new AssertionError(name + ": row " + i / p.n() + " column " + i % p.n() + ": device " + y[i] + ", emulator " + c.expected()[i]);
            assertTrue(r.measured().onDeviceNanos() > 0, name);
            assertTrue(r.measured().countedCycles() > 0, name + ": the software device reports the C-simulation cycle count");
            assertTrue(r.measured().hostToDeviceNanos() > 0 && r.measured().deviceToHostNanos() > 0, name);
            assertEquals(r.measured().hostToDeviceNanos() + r.measured().deviceToHostNanos(), r.transferNanos());
        } finally {
            dev.unload(h);
        }
    }

    @Test
    void everyFormatAndModeIsBitIdenticalOnRandomAndEdgeLayers() {
        Random rnd = new Random(15);
        int cases = 0;
        for (List<String> ids : HlsCases.formats().values())
            for (String id : ids) {
                QuantFormat f = QuantFormat.parse(id);
                for (ActivationMode mode : HlsVectors.modes(f))
                    for (int[] s : HlsVectors.shapes(f)) {
                        boolean edges = s[3] == 1;
                        PackedTensor p = HlsCases.pack(f, HlsCases.weights(s[0], s[1], rnd.nextLong(), edges), s[0], s[1]);
                        float[] bias = s[4] == 1 ? HlsCases.weights(1, s[0], rnd.nextLong(), false) : null;
                        check(id + " " + mode.id() + " " + s[0] + "x" + s[1] + " x " + s[2], p, mode, HlsCases.activations(s[2], s[1], rnd.nextLong(), edges), s[2], bias);
                        cases++;
                    }
            }
        assertEquals(20 * 2 * 4 + 3 * 3 * 4, cases, "20 formats in int8-token and mxint8, 3 LO-BCQ formats also in lobcq (W4A4)");
    }

    @Test
    void realBgeSmallLayersAreBitIdentical() {
        Map<String, Linear> layers = new LinkedHashMap<>();
        for (Linear l : EncoderModel.load(EncoderModel.Builtin.BGE_SMALL).encoder().linears()) layers.put(l.name(), l);
        Random rnd = new Random(16);
        for (String fid : List.of("microscopiq-w4", "microscopiq-w2-c4", "fineq", "mxfp4", "mxfp8-e4m3", "mxint8", "rtn-w4g128", "int4-asym-g128", "lobcq-c8-a64"))
            for (String name : HlsVectors.REAL_LAYERS) {
                Linear l = layers.get(name);
                QuantFormat f = QuantFormat.parse(fid);
                PackedTensor p = HlsCases.pack(f, l.weightsOutIn(), l.outFeatures(), l.inFeatures());
                for (ActivationMode mode : HlsVectors.modes(f))
                    check(fid + " " + mode.id() + " bge-small " + name, p, mode, HlsCases.activations(7, l.inFeatures(), rnd.nextLong(), false), 7, l.bias());
            }
    }

    @Test
    void theDeviceDescribesItselfAndRefusesFormatsItsBitstreamLacks() {
        XrtAccelerator dev = devices.get(ActivationMode.INT8_PER_TOKEN);
        assertEquals(DeviceKind.XRT, dev.describe().kind());
        assertTrue(dev.software());
        assertTrue(dev.describe().name().contains("uuid " + dev.xclbin().uuidString()), dev.describe().name());
        assertTrue(log.get(0).startsWith("XRT device 0 (software device "), log.get(0));
        QuantFormat other = QuantFormat.parse("rtn-w4g64");
        PackedTensor p = HlsCases.pack(other, HlsCases.weights(8, 64, 1, false), 8, 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.load(p, null));
        assertEquals("format rtn-w4g64 with int8-token activations is not in bitstream qbridge_swdevice.xclbin (it takes " + dev.bitstream().formats() + ")", e.getMessage());
    }

    @Test
    void theLoBcqDeviceTakesOnlyLoBcqWeights() {
        XrtAccelerator dev = devices.get(ActivationMode.LOBCQ);
        assertTrue(dev.describe().name().endsWith("lobcq activations"), dev.describe().name());
        PackedTensor p = HlsCases.pack(QuantFormat.parse("rtn-w4g128"), HlsCases.weights(8, 128, 3, false), 8, 128);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.load(p, null));
        assertEquals("format rtn-w4g128 with lobcq activations is not in bitstream qbridge_swdevice.xclbin (it takes " + dev.bitstream().formats() + ")", e.getMessage());
    }

    @Test
    void zeroTokensRunNothingAndAStaleHandleIsRefused() {
        XrtAccelerator dev = devices.get(ActivationMode.INT8_PER_TOKEN);
        QuantFormat f = QuantFormat.parse("mxfp4");
        PackedTensor p = HlsCases.pack(f, HlsCases.weights(8, 64, 2, false), 8, 64);
        LayerHandle h = dev.load(p, null);
        RunResult r = dev.run(h, new float[0], 0, new float[0]);
        assertEquals(0, r.measured().onDeviceNanos());
        dev.unload(h);
        assertThrows(IllegalArgumentException.class, () -> dev.run(h, new float[64], 1, new float[8]));
    }
}
