package io.qbridge.server;

import io.qbridge.model.bert.EncoderModel;
import io.qbridge.protocol.v1.Device;
import io.qbridge.protocol.v1.DeviceKind;

/**
 * Where a job's linear layers compute. The host FP32 path is the only one today; the emulator and XRT
 * boards plug in here, each with how many jobs it runs at once (a board: one).
 */
public interface ComputeDevice {
    String id();

    DeviceKind kind();

    String description();

    int parallelism();

    /** The model with its linear layers computing on this device. */
    EncoderModel bind(EncoderModel model);

    default Device toProto() {
        return Device.newBuilder().setId(id()).setKind(kind()).setDescription(description()).setParallelism(parallelism()).build();
    }

    /** The FP32 host path: the model as it is. */
    record Host(int parallelism) implements ComputeDevice {
        public String id() { return "host"; }
        public DeviceKind kind() { return DeviceKind.DEVICE_KIND_HOST; }
        public String description() { return "FP32 host path (Vector API); quantized weights run dequantized"; }
        public EncoderModel bind(EncoderModel model) { return model; }
    }
}
