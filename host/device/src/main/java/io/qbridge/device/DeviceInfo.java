package io.qbridge.device;

import java.util.List;

/**
 * What a device is, as reported by {@link Accelerator#describe()}.
 *
 * @param name                  a human-readable name (e.g. "qbridge emulator (u55c preset)")
 * @param arrayRows             rows of the processing-element array
 * @param arrayCols             columns of the processing-element array
 * @param clockMhz              the clock the cycle counts are converted at
 * @param supportedFormats      format ids ({@link io.qbridge.format.QuantFormat#id()}) the device loads
 * @param memoryBytes           off-chip memory capacity for resident weights
 * @param offChipBytesPerSecond off-chip bandwidth the performance model assumes
 */
public record DeviceInfo(DeviceKind kind, String name, int arrayRows, int arrayCols, double clockMhz, List<String> supportedFormats,
                         long memoryBytes, double offChipBytesPerSecond) {
    public DeviceInfo {
        supportedFormats = List.copyOf(supportedFormats);
    }
}
