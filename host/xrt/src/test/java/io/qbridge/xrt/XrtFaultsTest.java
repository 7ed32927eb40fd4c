package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import com.sun.jna.Pointer;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

/**
 * Faults the software device cannot produce, injected at the JNA interface: a run the device reports crashed or
 * in a state outside the enum, a kernel whose bank lookup fails, and the release order when everything is open.
 */
class XrtFaultsTest {
    private static XrtLibrary fake() {
        XrtLibrary lib = mock(XrtLibrary.class);
        when(lib.xrtDeviceOpen(0)).thenReturn(new Pointer(0x1000));
        when(lib.xrtPLKernelOpen(any(), any(), any())).thenReturn(new Pointer(0x2000));
        when(lib.xrtBOAlloc(any(), anyLong(), anyLong(), anyInt())).thenReturn(new Pointer(0x3000));
        when(lib.xrtRunOpen(any())).thenReturn(new Pointer(0x4000));
        when(lib.xrtKernelArgGroupId(any(), anyInt())).thenReturn(0);
        return lib;
    }

    @Test
    void aCrashedOrUnknownRunStateIsNamed() {
        XrtLibrary lib = fake();
        when(lib.xrtRunWaitFor(any(), anyInt())).thenReturn(RunState.SKCRASHED.code(), 42);
        try (XrtDevice d = XrtDevice.open(lib, 0)) {
            XrtKernel k = d.openKernel(new byte[16], KernelSignature.VERIFY);
            XrtRun r = k.openRun();
            XrtException e = assertThrows(XrtException.class, () -> r.waitFor(Duration.ofSeconds(1)));
            assertEquals(RunState.SKCRASHED, e.state());
            assertTrue(e.getMessage().endsWith("the run ended without completing (run state ERT_CMD_STATE_SKCRASHED)"), e.getMessage());
            e = assertThrows(XrtException.class, () -> r.waitFor(Duration.ofSeconds(1)));
            assertTrue(e.getMessage().endsWith("returned ert_cmd_state(42, unknown)"), e.getMessage());
        }
    }

    @Test
    void aBankLookupFailureNamesTheArgument() {
        XrtLibrary lib = fake();
        when(lib.xrtKernelArgGroupId(any(), anyInt())).thenReturn(-22);
        try (XrtDevice d = XrtDevice.open(lib, 0)) {
            XrtKernel k = d.openKernel(new byte[16], KernelSignature.MX);
            XrtException e = assertThrows(XrtException.class, () -> k.groupId(KernelSignature.OUT));
            assertEquals("xrtKernelArgGroupId(kernel qb_mx, 4 'out'): returned -22: no memory connectivity for the argument", e.getMessage());
        }
    }

    @Test
    void closingTheDeviceReleasesRunThenBufferThenKernelThenDevice() {
        XrtLibrary lib = fake();
        XrtDevice d = XrtDevice.open(lib, 0);
        XrtKernel k = d.openKernel(new byte[16], KernelSignature.VERIFY);
        d.allocate("b", 64, 0);
        k.openRun();
        d.close();
        d.close(); // idempotent
        InOrder o = inOrder(lib);
        o.verify(lib).xrtRunClose(new Pointer(0x4000));
        o.verify(lib).xrtBOFree(new Pointer(0x3000));
        o.verify(lib).xrtKernelClose(new Pointer(0x2000));
        o.verify(lib).xrtDeviceClose(new Pointer(0x1000));
        o.verifyNoMoreInteractions();
    }

    @Test
    void aBufferDroppedWithoutCloseIsFreedByTheCleaner() throws Exception {
        XrtLibrary lib = fake();
        try (XrtDevice d = XrtDevice.open(lib, 0)) {
            dropOne(d);
            long deadline = System.nanoTime() + 20_000_000_000L;
            boolean freed = false;
            while (!freed && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
                freed = org.mockito.Mockito.mockingDetails(lib).getInvocations().stream().anyMatch(i -> i.getMethod().getName().equals("xrtBOFree"));
            }
            assertTrue(freed, "the Cleaner released the dropped buffer");
        }
        // and the device's own close did not free it a second time
        org.mockito.Mockito.verify(lib, org.mockito.Mockito.times(1)).xrtBOFree(new Pointer(0x3000));
    }

    private static void dropOne(XrtDevice d) {
        d.allocate("dropped", 64, 0); // no reference kept
    }
}
