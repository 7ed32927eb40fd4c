package io.qbridge.device;

/** The closed set of device back ends: the bit-exact Java emulator and an Alveo card through XRT. */
public enum DeviceKind {
    EMULATOR,
    XRT
}
