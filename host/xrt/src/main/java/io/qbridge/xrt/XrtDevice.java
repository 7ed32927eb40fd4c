package io.qbridge.xrt;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.util.HexFormat;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An open XRT device ({@code xrtDeviceOpen}). It owns everything opened through it: closing it releases the
 * runs, then the buffers, then the kernels still open, then the device handle, whatever order the caller
 * used. A {@link Cleaner} does the same if the device is dropped without {@link #close()}.
 */
public final class XrtDevice implements AutoCloseable {
    final XrtLibrary lib;
    final int index;
    private final NativeHandle handle;
    private final Children children;
    private final Cleaner.Cleanable cleanable;
    private final AtomicLong ids = new AtomicLong();

    /** The handles opened through a device, released in the order XRT requires. */
    private static final class Children implements Runnable {
        final Deque<NativeHandle> runs = new ConcurrentLinkedDeque<>();
        final Deque<NativeHandle> buffers = new ConcurrentLinkedDeque<>();
        final Deque<NativeHandle> kernels = new ConcurrentLinkedDeque<>();
        final NativeHandle device;

        Children(NativeHandle device) {
            this.device = device;
        }

        @Override
        public void run() {
            for (Deque<NativeHandle> d : java.util.List.of(runs, buffers, kernels)) {
                NativeHandle h;
                while ((h = d.pollLast()) != null) h.release();
            }
            device.release();
        }
    }

    private XrtDevice(XrtLibrary lib, int index, Pointer p) {
        this.lib = lib;
        this.index = index;
        this.handle = new NativeHandle("device " + index, p, "xrtDeviceClose", lib::xrtDeviceClose);
        this.children = new Children(handle);
        this.cleanable = NativeHandle.CLEANER.register(this, children);
    }

    /** Opens device {@code index}; an {@link XrtException} naming the call when there is none. */
    public static XrtDevice open(XrtLibrary lib, int index) {
        Pointer p = lib.xrtDeviceOpen(index);
        if (p == null) throw new XrtException("xrtDeviceOpen(" + index + ")", "returned NULL: no such device, or the driver could not open it");
        return new XrtDevice(lib, index, p);
    }

    Pointer live(String call) {
        return handle.live(call);
    }

    String label() {
        return handle.label;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    /** Buffers allocated and not yet released (tests: a refused load allocates none). */
    int liveBuffers() { return children.buffers.size(); }

    void ownRun(NativeHandle h) { children.runs.add(h); }
    void ownBuffer(NativeHandle h) { children.buffers.add(h); }
    void ownKernel(NativeHandle h) { children.kernels.add(h); }
    void disown(NativeHandle h) {
        children.runs.remove(h);
        children.buffers.remove(h);
        children.kernels.remove(h);
    }

    /** Loads an xclbin image (the bytes of the file, already validated by {@link Axlf}). */
    public void loadXclbin(byte[] image) {
        String call = "xrtDeviceLoadXclbin(" + label() + ", <" + image.length + " bytes>)";
        int rc = lib.xrtDeviceLoadXclbin(live(call), image);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
    }

    /** Loads an xclbin from a file (the path XRT opens itself). */
    public void loadXclbinFile(String path) {
        String call = "xrtDeviceLoadXclbinFile(" + label() + ", \"" + path + "\")";
        int rc = lib.xrtDeviceLoadXclbinFile(live(call), path);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
    }

    /** The UUID of the xclbin loaded on the device now (16 bytes). */
    public byte[] loadedUuid() {
        byte[] out = new byte[16];
        String call = "xrtDeviceGetXclbinUUID(" + label() + ")";
        int rc = lib.xrtDeviceGetXclbinUUID(live(call), out);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
        return out;
    }

    /** Opens a kernel of the loaded xclbin with shared compute-unit access. */
    public XrtKernel openKernel(byte[] xclbinUuid, KernelSignature signature) {
        return XrtKernel.open(this, xclbinUuid, signature);
    }

    /** Allocates a buffer of {@code size} bytes in memory group {@code group} (from {@link XrtKernel#groupId}). */
    public XrtBuffer allocate(String name, long size, int group) {
        return XrtBuffer.allocate(this, name, size, group);
    }

    public boolean closed() {
        return handle.released();
    }

    /** Releases runs, buffers and kernels still open, then the device. */
    @Override
    public void close() {
        if (handle.released()) return;
        cleanable.clean();
    }

    /** The 16 UUID bytes in the usual 8-4-4-4-12 hex form. */
    public static String uuidString(byte[] u) {
        String h = HexFormat.of().formatHex(u);
        return h.length() != 32 ? h : h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20);
    }

    @Override
    public String toString() {
        return label();
    }
}
