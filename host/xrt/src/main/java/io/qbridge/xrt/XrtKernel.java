package io.qbridge.xrt;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;

/** An open kernel ({@code xrtPLKernelOpen}) with the argument table it is run with. */
public final class XrtKernel implements AutoCloseable {
    final XrtDevice device;
    final KernelSignature signature;
    private final NativeHandle handle;
    private final Cleaner.Cleanable cleanable;

    private XrtKernel(XrtDevice device, KernelSignature signature, Pointer p) {
        this.device = device;
        this.signature = signature;
        this.handle = new NativeHandle("kernel " + signature.name(), p, "xrtKernelClose", device.lib::xrtKernelClose);
        device.ownKernel(handle);
        this.cleanable = NativeHandle.CLEANER.register(this, handle);
    }

    static XrtKernel open(XrtDevice device, byte[] uuid, KernelSignature signature) {
        String call = "xrtPLKernelOpen(" + device.label() + ", " + XrtDevice.uuidString(uuid) + ", \"" + signature.name() + "\")";
        Pointer p = device.lib.xrtPLKernelOpen(device.live(call), uuid, signature.name());
        if (p == null) throw new XrtException(call, "returned NULL: the kernel is not in the loaded xclbin, or the UUID is not the loaded xclbin's");
        return new XrtKernel(device, signature, p);
    }

    public KernelSignature signature() {
        return signature;
    }

    Pointer live(String call) {
        device.live(call);
        return handle.live(call);
    }

    String label() {
        return handle.label;
    }

    /** The memory group (bank) buffer argument {@code argIndex} is connected to, for {@link XrtDevice#allocate}. */
    public int groupId(int argIndex) {
        KernelSignature.Arg a = signature.arg(argIndex);
        String call = "xrtKernelArgGroupId(" + label() + ", " + argIndex + " '" + a.name() + "')";
        if (a.kind() != ArgKind.BUFFER) throw new XrtException(call, "argument is a " + a.kind() + ", only buffer arguments have a memory group");
        int g = device.lib.xrtKernelArgGroupId(live(call), argIndex);
        if (g < 0) throw new XrtException(call, "returned " + g + ": no memory connectivity for the argument");
        return g;
    }

    /** Opens a run of this kernel (arguments unset, not started). */
    public XrtRun openRun() {
        return XrtRun.open(this);
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
