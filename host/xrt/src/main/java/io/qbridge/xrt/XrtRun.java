package io.qbridge.xrt;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.time.Duration;

/**
 * One kernel run ({@code xrtRunOpen}): arguments set one {@code xrtRunSetArg} call each, with the vararg
 * of the Java type the kernel's {@link KernelSignature} names; started; waited for with a deadline.
 */
public final class XrtRun implements AutoCloseable {
    /** The longest single {@code xrtRunWaitFor} call: longer waits are several calls, so an interrupt is seen. */
    static final int WAIT_SLICE_MS = 200;

    final XrtKernel kernel;
    private final NativeHandle handle;
    private final Cleaner.Cleanable cleanable;

    private XrtRun(XrtKernel kernel, Pointer p) {
        this.kernel = kernel;
        this.handle = new NativeHandle("run#" + kernel.device.nextId() + " of " + kernel.signature.name(), p, "xrtRunClose", kernel.device.lib::xrtRunClose);
        kernel.device.ownRun(handle);
        this.cleanable = NativeHandle.CLEANER.register(this, handle);
    }

    static XrtRun open(XrtKernel kernel) {
        String call = "xrtRunOpen(" + kernel.label() + ")";
        Pointer p = kernel.device.lib.xrtRunOpen(kernel.live(call));
        if (p == null) throw new XrtException(call, "returned NULL");
        return new XrtRun(kernel, p);
    }

    Pointer live(String call) {
        kernel.live(call);
        return handle.live(call);
    }

    /** Sets a buffer argument. */
    public XrtRun set(int index, XrtBuffer buffer) {
        KernelSignature.Arg a = kernel.signature.arg(index);
        String call = "xrtRunSetArg(" + handle.label + ", " + index + " '" + a.name() + "', " + buffer.label() + ")";
        expect(call, a, ArgKind.BUFFER);
        if (buffer.device != kernel.device) throw new XrtException(call, "the buffer belongs to another device");
        int rc = kernel.device.lib.xrtRunSetArg(live(call), index, buffer.live(call));
        if (rc != 0) throw new XrtException(call, "returned " + rc, state());
        return this;
    }

    /** Sets a 32-bit scalar argument (passed as a C {@code int}). */
    public XrtRun set(int index, int value) {
        KernelSignature.Arg a = kernel.signature.arg(index);
        String call = "xrtRunSetArg(" + handle.label + ", " + index + " '" + a.name() + "', (int) " + value + ")";
        expect(call, a, ArgKind.SCALAR32);
        int rc = kernel.device.lib.xrtRunSetArg(live(call), index, Integer.valueOf(value));
        if (rc != 0) throw new XrtException(call, "returned " + rc, state());
        return this;
    }

    /** Sets a 64-bit scalar argument (passed as a C {@code uint64_t}). */
    public XrtRun set(int index, long value) {
        KernelSignature.Arg a = kernel.signature.arg(index);
        String call = "xrtRunSetArg(" + handle.label + ", " + index + " '" + a.name() + "', (uint64_t) " + value + ")";
        expect(call, a, ArgKind.SCALAR64);
        int rc = kernel.device.lib.xrtRunSetArg(live(call), index, Long.valueOf(value));
        if (rc != 0) throw new XrtException(call, "returned " + rc, state());
        return this;
    }

    private static void expect(String call, KernelSignature.Arg a, ArgKind k) {
        if (a.kind() != k) throw new XrtException(call, "argument '" + a.name() + "' is a " + a.kind() + " in the kernel table, not a " + k);
    }

    public void start() {
        String call = "xrtRunStart(" + handle.label + ")";
        int rc = kernel.device.lib.xrtRunStart(live(call));
        if (rc != 0) throw new XrtException(call, "returned " + rc, state());
    }

    /** The run's state now ({@code xrtRunState}); null when XRT returns a value outside the enum. */
    public RunState state() {
        if (handle.released()) return null;
        return RunState.of(kernel.device.lib.xrtRunState(handle.pointer));
    }

    /**
     * Waits until the run finishes or {@code timeout} passes, in {@code xrtRunWaitFor} calls of at most
     * {@value #WAIT_SLICE_MS} ms. Returns normally only for {@code ERT_CMD_STATE_COMPLETED}; any other end,
     * the deadline or an interrupt is an {@link XrtException} naming the state.
     */
    public void waitFor(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String call = "xrtRunWaitFor(" + handle.label + ", " + timeout.toMillis() + " ms)";
        while (true) {
            long leftMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
            // 0 would mean "no timeout" to XRT: never pass it
            int slice = (int) Math.max(1, Math.min(WAIT_SLICE_MS, leftMs));
            int raw = kernel.device.lib.xrtRunWaitFor(live(call), slice);
            RunState s = RunState.of(raw);
            if (s == RunState.COMPLETED) return;
            if (s == null) throw new XrtException(call, "returned " + RunState.nameOf(raw));
            if (s.finished()) throw new XrtException(call, "the run ended without completing", s);
            if (s == RunState.NEW) throw new XrtException(call, "the run was never started", s);
            if (Thread.currentThread().isInterrupted()) throw new XrtException(call, "interrupted while waiting", s);
            if (System.nanoTime() - deadline >= 0) throw new XrtException(call, "timed out: the run did not complete within " + timeout.toMillis() + " ms", s);
        }
    }

    @Override
    public void close() {
        if (handle.released()) return;
        kernel.device.disown(handle);
        cleanable.clean();
    }

    @Override
    public String toString() {
        return handle.label;
    }
}
