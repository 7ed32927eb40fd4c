package io.qbridge.runtime;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.LayerHandle;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.device.PerfConfig;
import io.qbridge.format.MxFormat;
import io.qbridge.format.PackedTensor;
import io.qbridge.format.QuantFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Device choice and the errors a user sees for bad devices, configurations and layers. */
class DevicesTest {
    private static final XrtProbe NOTHING = new XrtProbe(Optional.empty(), Optional.empty(), Optional.empty());

    @Test
    void autoFallsBackToTheEmulatorWithOneLineSayingWhy() {
        List<String> log = new ArrayList<>();
        try (Accelerator a = Devices.open("auto", EmulatorConfig.defaults(), log::add, NOTHING)) {
            assertEquals(DeviceKind.EMULATOR, a.describe().kind());
        }
        assertEquals(1, log.size());
        assertTrue(log.get(0).startsWith("no XRT runtime (libxrt_coreutil.so not found"), log.get(0));
        assertTrue(log.get(0).endsWith(": using the emulator"), log.get(0));
    }

    @Test
    void theEmulatorIsForeseenAsOpenChoosesIt() {
        for (String choice : new String[] {"emulator", "EMULATOR", "auto", "Auto", null}) {
            try (Accelerator a = Devices.open(choice, EmulatorConfig.defaults(), s -> {}, NOTHING)) {
                assertEquals(a.describe().kind() == DeviceKind.EMULATOR, Devices.choosesEmulator(choice, () -> NOTHING), choice);
            }
        }
        assertThrows(IllegalStateException.class, () -> Devices.open("xrt", EmulatorConfig.defaults(), s -> {}, NOTHING));
        assertFalse(Devices.choosesEmulator("xrt", () -> NOTHING));
        assertThrows(IllegalArgumentException.class, () -> Devices.open("gpu", EmulatorConfig.defaults(), s -> {}, NOTHING));
        assertFalse(Devices.choosesEmulator("gpu", () -> NOTHING));
        // with every piece of a board present, auto is foreseen as the board (opening it is not tried here)
        XrtProbe all = new XrtProbe(Optional.of(Path.of("libxrt_coreutil.so")), Optional.of(Path.of("/dev/dri/renderD128")), Optional.of(Path.of("b.xclbin")));
        assertTrue(all.complete());
        assertFalse(Devices.choosesEmulator("auto", () -> all));
        assertTrue(Devices.choosesEmulator("emulator", () -> { throw new AssertionError("the probe is looked at only for auto"); }));
    }

    @Test
    void xrtRequestedExplicitlyNamesWhatIsMissing() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Devices.open("xrt", EmulatorConfig.defaults(), s -> {}, NOTHING));
        assertTrue(e.getMessage().contains("libxrt_coreutil.so"), e.getMessage());
        XrtProbe noCard = new XrtProbe(Optional.of(Path.of("/opt/xilinx/xrt/lib/libxrt_coreutil.so")), Optional.empty(), Optional.empty());
        e = assertThrows(IllegalStateException.class, () -> Devices.open("xrt", EmulatorConfig.defaults(), s -> {}, noCard));
        assertTrue(e.getMessage().contains("no Alveo card"), e.getMessage());
        XrtProbe noBits = new XrtProbe(noCard.library(), Optional.of(Path.of("/sys/bus/pci/drivers/xocl/0000:3b:00.1")), Optional.empty());
        e = assertThrows(IllegalStateException.class, () -> Devices.open("xrt", EmulatorConfig.defaults(), s -> {}, noBits));
        assertTrue(e.getMessage().contains(".xclbin"), e.getMessage());
        // on this machine there is no XRT at all
        assertTrue(XrtProbe.probe(Path.of("/nonexistent")).library().isEmpty());
        assertThrows(IllegalArgumentException.class, () -> Devices.open("gpu", EmulatorConfig.defaults(), s -> {}, NOTHING));
    }

    @Test
    void badConfigurationsAndLayersGetClearErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PerfConfig("x", 0, 64, 300, 4, 1, 1, 1e9, 1,
                PerfConfig.Dataflow.OUTPUT_STATIONARY, 1, 0, 0, 0, 0, 0, 0, 0, 0));
        assertTrue(e.getMessage().contains("at least 1 x 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new EmulatorConfig(PerfConfig.u55c(), List.of("mxfp5")));
        assertTrue(e.getMessage().contains("mxfp5"), e.getMessage());
        java.util.Properties p = new java.util.Properties();
        p.setProperty("arrayRowz", "8");
        e = assertThrows(IllegalArgumentException.class, () -> PerfConfig.apply(PerfConfig.u55c(), p));
        assertTrue(e.getMessage().contains("arrayRowz"), e.getMessage());

        PackedTensor w = MxFormat.MXFP4.pack(io.qbridge.quant.Rtn.quantize(MxFormat.MXFP4, new float[64], 2, 32).tensor());
        try (Accelerator only4 = Devices.open("emulator", new EmulatorConfig(PerfConfig.u55c(), List.of("microscopiq-w4")), s -> {})) {
            e = assertThrows(IllegalArgumentException.class, () -> only4.load(w, null));
            assertTrue(e.getMessage().contains("mxfp4 is not supported"), e.getMessage());
        }
        try (Accelerator dev = Devices.open("emulator", EmulatorConfig.defaults(), s -> {})) {
            e = assertThrows(IllegalArgumentException.class, () -> dev.load(w, new float[3]));
            assertTrue(e.getMessage().contains("bias has 3 values"), e.getMessage());
            LayerHandle h = dev.load(w, null);
            e = assertThrows(IllegalArgumentException.class, () -> dev.run(h, new float[31], 1, new float[2]));
            assertTrue(e.getMessage().contains("x holds 31"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> dev.run(h, new float[] {Float.NaN, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1, new float[2]));
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            dev.unload(h);
            e = assertThrows(IllegalArgumentException.class, () -> dev.run(h, new float[32], 1, new float[2]));
            assertTrue(e.getMessage().contains("not loaded"), e.getMessage());
        }
        // a corrupt image: an E4M3 NaN element code in a finite block
        byte[] img = MxFormat.MXFP8_E4M3.pack(io.qbridge.quant.Rtn.quantize(MxFormat.MXFP8_E4M3, new float[32], 1, 32).tensor()).bytes();
        img[5] = 0x7F;
        img[32] = 127; // scale 2^0
        PackedTensor bad = new PackedTensor(QuantFormat.parse("mxfp8-e4m3"), 1, 32, img);
        try (Accelerator dev = Devices.open("emulator", EmulatorConfig.defaults(), s -> {})) {
            e = assertThrows(IllegalArgumentException.class, () -> dev.load(bad, null));
            assertTrue(e.getMessage().contains("NaN/Inf"), e.getMessage());
        }
    }
}
