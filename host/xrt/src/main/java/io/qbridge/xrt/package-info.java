/**
 * The board path through XRT's native C API: the JNA mapping of the C functions the host calls
 * ({@link io.qbridge.xrt.XrtLibrary}), owning wrappers that release run, buffer, kernel and device in that order
 * ({@link io.qbridge.xrt.XrtDevice}, {@link io.qbridge.xrt.XrtKernel}, {@link io.qbridge.xrt.XrtBuffer},
 * {@link io.qbridge.xrt.XrtRun}), the kernels' argument tables ({@link io.qbridge.xrt.KernelSignature}), a
 * pure-Java reader of the xclbin (axlf) container ({@link io.qbridge.xrt.Axlf}), the bitstream manifest
 * ({@link io.qbridge.xrt.BitstreamManifest}), where the library is looked up ({@link io.qbridge.xrt.XrtLibraries})
 * and the {@link io.qbridge.device.Accelerator} that runs layers on a device ({@link io.qbridge.xrt.XrtAccelerator}).
 * Only C symbols are used: XRT's C++-mangled exports ({@code xrtRunSetArgV}, {@code xrtErrorGetLast}) are not.
 */
package io.qbridge.xrt;
