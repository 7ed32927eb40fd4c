package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JNA binding and its wrappers against the software device (hls/build/libqbridge_swdevice.so), through
 * its diagnostic kernel qb_verify: what a user of a card would notice (data moves only on sync, unset
 * arguments, UUIDs, banks, timeouts) and every fault the device can produce, each a one-line exception.
 */
@Timeout(60)
class XrtBindingTest {
    static XrtLibrary lib;
    static byte[] image;
    static Axlf axlf;
    XrtDevice dev;

    @BeforeAll
    static void load() throws Exception {
        lib = SwDevice.load();
        image = Files.readAllBytes(SwDevice.xclbin());
        axlf = Axlf.parse(image, "swdevice");
    }

    @BeforeEach
    void open() {
        dev = XrtDevice.open(lib, 0);
        dev.loadXclbin(image);
    }

    @AfterEach
    void close() {
        dev.close();
    }

    private static byte[] words(int[] w) {
        ByteBuffer b = ByteBuffer.allocate(w.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : w) b.putInt(v);
        return b.array();
    }

    @Test
    void dataReachesTheKernelOnlyThroughSync() {
        int n = 1000;
        int[] w = new Random(1).ints(n).toArray();
        byte[] src = words(w);
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
             XrtBuffer in = dev.allocate("in", src.length, k.groupId(0));
             XrtBuffer out = dev.allocate("out", src.length, k.groupId(1))) {
            assertEquals(src.length, in.nativeSize());
            in.write(src, src.length, 0);
            // not synced: the kernel reads device memory, which is not what was written
            try (XrtRun r = k.openRun()) {
                r.set(0, in).set(1, out).set(2, n).set(3, 0L);
                r.start();
                r.waitFor(Duration.ofSeconds(10));
            }
            byte[] got = new byte[src.length];
            out.syncFromDevice(src.length, 0);
            out.read(got, got.length, 0);
            assertNotEquals(java.util.Arrays.toString(src), java.util.Arrays.toString(got));
            in.syncToDevice(src.length, 0);
            try (XrtRun r = k.openRun()) {
                r.set(0, in).set(1, out).set(2, n).set(3, 0L);
                r.start();
                r.waitFor(Duration.ofSeconds(10));
                assertEquals(RunState.COMPLETED, r.state());
            }
            out.read(got, got.length, 0);
            assertNotEquals(java.util.Arrays.toString(src), java.util.Arrays.toString(got), "read before the FROM_DEVICE sync sees the old host copy");
            out.syncFromDevice(src.length, 0);
            out.read(got, got.length, 0);
            assertArrayEquals(src, got);
        }
    }

    @Test
    void theGeneratedXclbinAgreesWithTheHostsTableAndTheManifest() throws Exception {
        assertEquals(Axlf.MODE_SW_EMU, axlf.mode());
        assertEquals("qbridge_swdevice_x86_64_1", axlf.platform());
        for (KernelSignature s : KernelSignature.TABLE.values()) s.checkAgainst(axlf.kernels().get(s.name()), "swdevice");
        BitstreamManifest m = BitstreamManifest.read(SwDevice.manifest());
        BitstreamManifest.Entry e = m.byName("qbridge_swdevice.xclbin");
        assertTrue(e.software());
        BitstreamManifest.verify(e, image, axlf);
        assertArrayEquals(axlf.uuid(), dev.loadedUuid());
        // every buffer argument's bank, as the device reports it, is the one CONNECTIVITY names
        for (KernelSignature s : KernelSignature.TABLE.values()) {
            if (s == KernelSignature.VERIFY) continue;
            int ip = axlf.kernelNames().indexOf(s.name());
            for (int a = 0; a < s.args().size(); a++)
                if (s.arg(a).kind() == ArgKind.BUFFER) assertTrue(axlf.connectivity().get(ip).containsKey(a), s.name() + " arg " + a);
        }
    }

    @Test
    void aRunWithAnArgumentUnsetFailsAtStartNamingTheState() {
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
             XrtBuffer in = dev.allocate("in", 64, k.groupId(0));
             XrtRun r = k.openRun()) {
            r.set(0, in).set(2, 16).set(3, 0L);
            XrtException e = assertThrows(XrtException.class, r::start);
            assertTrue(e.getMessage().startsWith("xrtRunStart(run#"), e.getMessage());
            assertTrue(e.getMessage().endsWith("(run state ERT_CMD_STATE_NEW)"), e.getMessage());
            assertEquals(RunState.NEW, e.state());
        }
    }

    @Test
    void aWrongUuidOrAMissingKernelFailsKernelOpen() {
        byte[] wrong = axlf.uuid();
        wrong[0] ^= 1;
        XrtException e = assertThrows(XrtException.class, () -> dev.openKernel(wrong, KernelSignature.VERIFY));
        assertTrue(e.getMessage().startsWith("xrtPLKernelOpen(device 0, " + XrtDevice.uuidString(wrong) + ", \"qb_verify\")"), e.getMessage());
        KernelSignature absent = new KernelSignature("qb_absent", KernelSignature.VERIFY.args());
        e = assertThrows(XrtException.class, () -> dev.openKernel(axlf.uuid(), absent));
        assertTrue(e.getMessage().contains("\"qb_absent\""), e.getMessage());
    }

    @Test
    void aBufferInAnotherBankIsRefusedBySetArg() {
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
             XrtBuffer wrongBank = dev.allocate("in", 64, 3);
             XrtRun r = k.openRun()) {
            XrtException e = assertThrows(XrtException.class, () -> r.set(0, wrongBank));
            assertTrue(e.getMessage().startsWith("xrtRunSetArg(run#"), e.getMessage());
            assertTrue(e.getMessage().contains("0 'in'"), e.getMessage());
        }
    }

    @Test
    void anArgumentOfTheWrongKindNeverReachesTheLibrary() {
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY); XrtRun r = k.openRun()) {
            XrtException e = assertThrows(XrtException.class, () -> r.set(3, 5)); // hold_us is 64-bit
            assertTrue(e.getMessage().contains("is a SCALAR64 in the kernel table, not a SCALAR32"), e.getMessage());
        }
    }

    @Test
    void aRunThatOutlivesItsWaitTimesOutAndTheDeviceStaysUsable() {
        byte[] src = words(new int[] {1, 2, 3, 4});
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
             XrtBuffer in = dev.allocate("in", 16, k.groupId(0));
             XrtBuffer out = dev.allocate("out", 16, k.groupId(1))) {
            in.write(src, 16, 0);
            in.syncToDevice(16, 0);
            long t0 = System.nanoTime();
            try (XrtRun slow = k.openRun()) {
                slow.set(0, in).set(1, out).set(2, 4).set(3, 1_500_000L);
                slow.start();
                XrtException e = assertThrows(XrtException.class, () -> slow.waitFor(Duration.ofMillis(150)));
                assertTrue(e.getMessage().contains("timed out"), e.getMessage());
                assertTrue(e.state() == RunState.RUNNING || e.state() == RunState.QUEUED, String.valueOf(e.state()));
                assertTrue(e.getMessage().endsWith("(run state " + e.state().cName() + ")"), e.getMessage());
            }
            assertTrue(System.nanoTime() - t0 < 1_400_000_000L, "the wait returned at its timeout, not when the run ended");
            try (XrtRun next = k.openRun()) {
                next.set(0, in).set(1, out).set(2, 4).set(3, 0L);
                next.start();
                next.waitFor(Duration.ofSeconds(20));
            }
            byte[] got = new byte[16];
            out.syncFromDevice(16, 0);
            out.read(got, 16, 0);
            assertArrayEquals(src, got);
        }
    }

    @Test
    void aRunWhoseBuffersAreTooSmallEndsInError() {
        try (XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
             XrtBuffer in = dev.allocate("in", 16, k.groupId(0));
             XrtBuffer out = dev.allocate("out", 16, k.groupId(1));
             XrtRun r = k.openRun()) {
            r.set(0, in).set(1, out).set(2, 1000).set(3, 0L);
            r.start();
            XrtException e = assertThrows(XrtException.class, () -> r.waitFor(Duration.ofSeconds(10)));
            assertEquals(RunState.ERROR, e.state());
            assertTrue(e.getMessage().endsWith("(run state ERT_CMD_STATE_ERROR)"), e.getMessage());
        }
    }

    @Test
    void aSyncOutsideTheBufferFailsNamingTheCall() {
        try (XrtBuffer b = dev.allocate("w", 100, 0)) {
            XrtException e = assertThrows(XrtException.class, () -> b.syncToDevice(101, 0));
            assertTrue(e.getMessage().startsWith("xrtBOSync(bo#"), e.getMessage());
            assertTrue(e.getMessage().contains("XCL_BO_SYNC_BO_TO_DEVICE, 101, 0): returned -1"), e.getMessage());
        }
    }

    @Test
    void aBankThatCannotHoldTheBufferFailsAllocation() {
        XrtException e = assertThrows(XrtException.class, () -> dev.allocate("huge", 600L << 20, 0));
        assertTrue(e.getMessage().startsWith("xrtBOAlloc(device 0, 629145600, XRT_BO_FLAGS_NONE, group 0)"), e.getMessage());
        e = assertThrows(XrtException.class, () -> dev.allocate("nobank", 64, 99));
        assertTrue(e.getMessage().contains("returned NULL"), e.getMessage());
    }

    @Test
    void aClosedHandleUsedAgainIsAnErrorNotACrash() {
        XrtKernel k = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
        XrtBuffer b = dev.allocate("b", 64, k.groupId(0));
        com.sun.jna.Pointer raw = b.map();
        b.close();
        XrtException e = assertThrows(XrtException.class, () -> b.write(new byte[4], 4, 0));
        assertTrue(e.getMessage().contains("was already released"), e.getMessage());
        k.close();
        assertThrows(XrtException.class, k::openRun);
        // below the wrappers: the device itself refuses a stale handle instead of touching freed memory
        assertEquals(-1, lib.xrtBOSync(raw, 0, 4, 0));
        // closing the device releases whatever is still open, in order, and a later use is refused
        XrtKernel k2 = dev.openKernel(axlf.uuid(), KernelSignature.VERIFY);
        XrtBuffer b2 = dev.allocate("b2", 64, k2.groupId(0));
        XrtRun r2 = k2.openRun();
        dev.close();
        assertThrows(XrtException.class, () -> r2.set(0, b2));
        assertThrows(XrtException.class, () -> b2.syncToDevice(4, 0));
        assertThrows(XrtException.class, () -> dev.loadedUuid());
    }

    @Test
    void noSuchDeviceIsAnErrorNamingTheCall() {
        XrtException e = assertThrows(XrtException.class, () -> XrtDevice.open(lib, 1));
        assertTrue(e.getMessage().startsWith("xrtDeviceOpen(1): returned NULL"), e.getMessage());
    }

    @Test
    void theSoftwareDeviceRefusesAnXclbinForAnotherModeOrPlatform(@TempDir Path tmp) {
        byte[] hw = image.clone();
        hw[332] = 0; // flat hardware xclbin
        XrtException e = assertThrows(XrtException.class, () -> dev.loadXclbin(hw));
        assertTrue(e.getMessage().startsWith("xrtDeviceLoadXclbin(device 0, <"), e.getMessage());
        byte[] other = image.clone();
        other[352] = 'x';
        assertThrows(XrtException.class, () -> dev.loadXclbin(other));
        // the device still has the good one
        assertArrayEquals(axlf.uuid(), dev.loadedUuid());
        assertThrows(XrtException.class, () -> dev.loadXclbinFile(tmp.resolve("absent.xclbin").toString()));
    }

    @Test
    void aLibraryThatIsMissingOrNotXrtFailsToLoadWithOneLine(@TempDir Path tmp) throws Exception {
        XrtException e = assertThrows(XrtException.class, () -> XrtLibraries.load(tmp.resolve("libxrt_coreutil.so")));
        assertTrue(e.getMessage().startsWith("dlopen(\"" + tmp.resolve("libxrt_coreutil.so") + "\"): the library cannot be loaded"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
        Path notXrt = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        if (!Files.exists(notXrt)) notXrt = Path.of("/usr/lib/x86_64-linux-gnu/libm.so.6");
        Path libm = notXrt;
        e = assertThrows(XrtException.class, () -> XrtLibraries.load(libm));
        assertTrue(e.getMessage().contains("does not export the C function xrt"), e.getMessage());
    }
}
