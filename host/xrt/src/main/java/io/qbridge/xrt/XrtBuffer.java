package io.qbridge.xrt;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;

/**
 * A buffer object ({@code xrtBOAlloc}) in one memory bank. Data written with {@link #write} sits in the host
 * backing store until {@link #syncToDevice}; {@link #read} sees device data only after {@link #syncFromDevice}.
 */
public final class XrtBuffer implements AutoCloseable {
    final XrtDevice device;
    private final NativeHandle handle;
    private final Cleaner.Cleanable cleanable;
    private final long size;
    private final int group;

    private XrtBuffer(XrtDevice device, String label, Pointer p, long size, int group) {
        this.device = device;
        this.size = size;
        this.group = group;
        this.handle = new NativeHandle(label, p, "xrtBOFree", device.lib::xrtBOFree);
        device.ownBuffer(handle);
        this.cleanable = NativeHandle.CLEANER.register(this, handle);
    }

    static XrtBuffer allocate(XrtDevice device, String name, long size, int group) {
        String call = "xrtBOAlloc(" + device.label() + ", " + size + ", XRT_BO_FLAGS_NONE, group " + group + ") for '" + name + "'";
        if (size <= 0) throw new XrtException(call, "size must be positive");
        Pointer p = device.lib.xrtBOAlloc(device.live(call), size, XrtLibrary.XRT_BO_FLAGS_NONE, group);
        if (p == null) throw new XrtException(call, "returned NULL: the bank is full or does not exist");
        return new XrtBuffer(device, "bo#" + device.nextId() + " '" + name + "' (" + size + " B, bank " + group + ")", p, size, group);
    }

    public long size() {
        return size;
    }

    public int group() {
        return group;
    }

    Pointer live(String call) {
        device.live(call);
        return handle.live(call);
    }

    String label() {
        return handle.label;
    }

    /** {@code xrtBOSize}, asked of XRT (the size it really allocated). */
    public long nativeSize() {
        String call = "xrtBOSize(" + label() + ")";
        return device.lib.xrtBOSize(live(call));
    }

    /** Copies {@code length} bytes of {@code src} into the host backing store at {@code offset}. */
    public void write(byte[] src, int length, long offset) {
        String call = "xrtBOWrite(" + label() + ", <" + length + " bytes>, " + length + ", " + offset + ")";
        checkRange(call, length, offset);
        if (length > src.length) throw new XrtException(call, "source holds only " + src.length + " bytes");
        int rc = device.lib.xrtBOWrite(live(call), src, length, offset);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
    }

    /** Copies {@code length} bytes of the host backing store at {@code offset} into {@code dst}. */
    public void read(byte[] dst, int length, long offset) {
        String call = "xrtBORead(" + label() + ", <" + length + " bytes>, " + length + ", " + offset + ")";
        checkRange(call, length, offset);
        if (length > dst.length) throw new XrtException(call, "destination holds only " + dst.length + " bytes");
        int rc = device.lib.xrtBORead(live(call), dst, length, offset);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
    }

    public void syncToDevice(long length, long offset) {
        sync(XrtLibrary.XCL_BO_SYNC_BO_TO_DEVICE, "XCL_BO_SYNC_BO_TO_DEVICE", length, offset);
    }

    public void syncFromDevice(long length, long offset) {
        sync(XrtLibrary.XCL_BO_SYNC_BO_FROM_DEVICE, "XCL_BO_SYNC_BO_FROM_DEVICE", length, offset);
    }

    private void sync(int dir, String dirName, long length, long offset) {
        String call = "xrtBOSync(" + label() + ", " + dirName + ", " + length + ", " + offset + ")";
        int rc = device.lib.xrtBOSync(live(call), dir, length, offset);
        if (rc != 0) throw new XrtException(call, "returned " + rc);
    }

    /** The host mapping of the backing store ({@code xrtBOMap}), valid until the buffer is closed. */
    public Pointer map() {
        String call = "xrtBOMap(" + label() + ")";
        Pointer p = device.lib.xrtBOMap(live(call));
        if (p == null) throw new XrtException(call, "returned NULL");
        return p;
    }

    private void checkRange(String call, long length, long offset) {
        if (length < 0 || offset < 0 || offset + length > size)
            throw new XrtException(call, "range [" + offset + ", " + (offset + length) + ") is outside the buffer's " + size + " bytes");
    }

    @Override
    public void close() {
        if (handle.released()) return;
        device.disown(handle);
        cleanable.clean();
    }

    @Override
    public String toString() {
        return label();
    }
}
