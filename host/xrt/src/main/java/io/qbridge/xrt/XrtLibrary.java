package io.qbridge.xrt;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * The XRT native C functions the host calls, with XRT's exact C signatures (headers {@code xrt/xrt_device.h},
 * {@code xrt/xrt_bo.h}, {@code xrt/xrt_kernel.h}, {@code xrt/experimental/xrt_ini.h}; all {@code extern "C"}).
 * Handles ({@code xrtDeviceHandle}, {@code xrtBufferHandle}, {@code xrtKernelHandle}, {@code xrtRunHandle}) are
 * {@code void*}: {@link Pointer}, null on failure. {@code xuid_t} is {@code unsigned char[16]}: {@code byte[16]}.
 * {@code size_t} and {@code uint64_t} are {@code long} (64-bit Linux). An interface mapping (not direct
 * mapping), because {@code xrtRunSetArg} is variadic. The C++-mangled exports ({@code xrtRunSetArgV},
 * {@code xrtErrorGetLast}, {@code xrtErrorGetString}) are deliberately absent.
 *
 * <p>Callers go through {@link XrtDevice} and the other wrappers, which check every sentinel.
 */
public interface XrtLibrary extends Library {
    int XCL_BO_SYNC_BO_TO_DEVICE = 0;
    int XCL_BO_SYNC_BO_FROM_DEVICE = 1;
    long XRT_BO_FLAGS_NONE = 0;

    // xrt_device.h
    /** {@code xrtDeviceHandle xrtDeviceOpen(unsigned int index)}. */
    Pointer xrtDeviceOpen(int index);

    /** {@code int xrtDeviceClose(xrtDeviceHandle dhdl)}. */
    int xrtDeviceClose(Pointer device);

    /** {@code int xrtDeviceLoadXclbin(xrtDeviceHandle dhdl, const struct axlf* xclbin)}: an in-memory image. */
    int xrtDeviceLoadXclbin(Pointer device, byte[] axlf);

    /** {@code int xrtDeviceLoadXclbinFile(xrtDeviceHandle dhdl, const char* xclbin_fnm)}. */
    int xrtDeviceLoadXclbinFile(Pointer device, String path);

    /** {@code int xrtDeviceGetXclbinUUID(xrtDeviceHandle dhdl, xuid_t out)}: what is loaded on the device now. */
    int xrtDeviceGetXclbinUUID(Pointer device, byte[] uuidOut);

    // xrt_kernel.h
    /** {@code xrtKernelHandle xrtPLKernelOpen(xrtDeviceHandle, const xuid_t xclbinId, const char* name)}. */
    Pointer xrtPLKernelOpen(Pointer device, byte[] xclbinUuid, String name);

    /** {@code int xrtKernelClose(xrtKernelHandle)}. */
    int xrtKernelClose(Pointer kernel);

    /** {@code int xrtKernelArgGroupId(xrtKernelHandle, int argno)}: the memory group for a buffer argument, negative on error. */
    int xrtKernelArgGroupId(Pointer kernel, int argno);

    /** {@code xrtRunHandle xrtRunOpen(xrtKernelHandle)}. */
    Pointer xrtRunOpen(Pointer kernel);

    /**
     * {@code int xrtRunSetArg(xrtRunHandle, int index, ...)}: exactly one vararg, of the Java type
     * {@link ArgKind} prescribes ({@link Pointer}, {@link Integer} or {@link Long}).
     */
    int xrtRunSetArg(Pointer run, int index, Object... value);

    /** {@code int xrtRunStart(xrtRunHandle)}. */
    int xrtRunStart(Pointer run);

    /** {@code enum ert_cmd_state xrtRunWaitFor(xrtRunHandle, unsigned int timeout_ms)}: the current state if the timeout expires. */
    int xrtRunWaitFor(Pointer run, int timeoutMs);

    /** {@code enum ert_cmd_state xrtRunState(xrtRunHandle)}. */
    int xrtRunState(Pointer run);

    /** {@code int xrtRunClose(xrtRunHandle)}. */
    int xrtRunClose(Pointer run);

    // xrt_bo.h
    /** {@code xrtBufferHandle xrtBOAlloc(xrtDeviceHandle, size_t size, xrtBufferFlags flags, xrtMemoryGroup grp)}. */
    Pointer xrtBOAlloc(Pointer device, long size, long flags, int group);

    /** {@code int xrtBOFree(xrtBufferHandle)}. */
    int xrtBOFree(Pointer bo);

    /** {@code size_t xrtBOSize(xrtBufferHandle)}. */
    long xrtBOSize(Pointer bo);

    /** {@code int xrtBOWrite(xrtBufferHandle, const void* src, size_t size, size_t seek)}: into the host backing store. */
    int xrtBOWrite(Pointer bo, byte[] src, long size, long seek);

    /** {@code int xrtBORead(xrtBufferHandle, void* dst, size_t size, size_t skip)}: from the host backing store. */
    int xrtBORead(Pointer bo, byte[] dst, long size, long skip);

    /** {@code int xrtBOSync(xrtBufferHandle, enum xclBOSyncDirection dir, size_t size, size_t offset)}. */
    int xrtBOSync(Pointer bo, int direction, long size, long offset);

    /** {@code void* xrtBOMap(xrtBufferHandle)}: the host backing store, valid until {@code xrtBOFree}. */
    Pointer xrtBOMap(Pointer bo);

    // xrt_ini.h
    /** {@code int xrtIniStringSet(const char* key, const char* value)}: before the first device is opened. */
    int xrtIniStringSet(String key, String value);
}
