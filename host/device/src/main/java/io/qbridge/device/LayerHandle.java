package io.qbridge.device;

import io.qbridge.format.QuantFormat;

/**
 * A weight matrix resident on a device, returned by {@link Accelerator#load}. Handles belong to the device
 * that made them; passing one to another device is an error.
 *
 * @param id          device-unique number
 * @param format      the packed format of the weights
 * @param n           output features N
 * @param k           input features K
 * @param packedBytes size of the byte image the device holds (what the performance model reads from memory)
 */
public record LayerHandle(long id, QuantFormat format, int n, int k, long packedBytes) {}
