package io.qbridge.server;

import io.qbridge.device.Accelerator;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.QuantizedLayer;
import io.qbridge.protocol.v1.Device;
import io.qbridge.protocol.v1.DeviceKind;
import io.qbridge.protocol.v1.JobSpec;
import io.qbridge.runtime.AcceleratorModels;
import io.qbridge.runtime.RunStats;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a job's linear layers compute, and how many jobs it takes at once. The set is closed: the FP32
 * host path, the bit-exact emulator, and accelerator boards. Host and emulator jobs share the server's
 * worker pool ({@code --workers N}, both compute on the CPU); a board is exclusive, one job at a time.
 *
 * <p>A job names the device it needs in its spec ({@link #requiredBy}): {@code ""} for any server's host
 * path, else a device id ({@code host}, {@code emulator}, {@code board-0}), a kind ({@code host},
 * {@code emulator}, {@code board}), or one of the device layer's choices as the local commands take them:
 * {@code xrt} (a board) and {@code auto} (any accelerator this server has: a board or the emulator).
 */
public sealed interface ComputeDevice {
    String id();

    DeviceKind kind();

    String description();

    /** Jobs this device runs at once. */
    int parallelism();

    /** True for a device with its own exclusive slot (a board); false for one that shares the worker pool. */
    default boolean exclusive() {
        return kind() == DeviceKind.DEVICE_KIND_BOARD;
    }

    /** The model with its linear layers computing on this device, as it is (host) or from its packed layers (accelerators). */
    EncoderModel bind(EncoderModel model);

    default Device toProto() {
        return Device.newBuilder().setId(id()).setKind(kind()).setDescription(description()).setParallelism(parallelism()).build();
    }

    /**
     * Every requirement ({@link #requiredBy}) this device satisfies: its id and kind name; the host path also
     * {@code ""}; an accelerator also the device layer's {@code auto}; a board also {@code xrt}. The store
     * claims by these names, so this is the one place that says which job may run where.
     */
    default java.util.Set<String> names() {
        java.util.Set<String> n = new java.util.LinkedHashSet<>(List.of(id(), kindName(kind())));
        if (kind() == DeviceKind.DEVICE_KIND_HOST) n.add("");
        if (this instanceof OnAccelerator) n.add("auto");
        if (kind() == DeviceKind.DEVICE_KIND_BOARD) n.add("xrt");
        return n;
    }

    /** True if a job needing {@code requirement} ({@link #requiredBy}) may run here. */
    default boolean satisfies(String requirement) {
        return names().contains(requirement);
    }

    /** The lower-case name a job may use for a kind: {@code host}, {@code emulator}, {@code board}. */
    static String kindName(DeviceKind k) {
        return switch (k) {
            case DEVICE_KIND_HOST -> "host";
            case DEVICE_KIND_EMULATOR -> "emulator";
            case DEVICE_KIND_BOARD -> "board";
            default -> throw new IllegalArgumentException("no device kind " + k);
        };
    }

    /**
     * What device a job needs, from its spec: the run, bench or generate {@code device} field, trimmed and lower
     * case ({@code ""} = any); quantize and eval jobs run on the host path of any server.
     */
    static String requiredBy(JobSpec spec) {
        String d = switch (spec.getKindCase()) {
            case RUN -> spec.getRun().getDevice();
            case BENCH -> spec.getBench().getDevice();
            case GENERATE -> spec.getGenerate().getDevice();
            default -> "";
        };
        return d.trim().toLowerCase(Locale.ROOT);
    }

    /** The FP32 host path: the model as it is. */
    record Host(int parallelism) implements ComputeDevice {
        public String id() { return "host"; }
        public DeviceKind kind() { return DeviceKind.DEVICE_KIND_HOST; }
        public String description() { return "FP32 host path (Vector API); quantized weights run dequantized"; }
        public EncoderModel bind(EncoderModel model) { return model; }
    }

    /** A device that computes packed layers: the emulator or a board, both behind {@link Accelerator}. */
    sealed interface OnAccelerator extends ComputeDevice {
        Accelerator accelerator();

        /** The model with every linear layer replaced by its packed layer resident on this device. */
        default EncoderModel bind(EncoderModel base, List<QuantizedLayer> layers, RunStats stats) {
            return AcceleratorModels.onDevice(base, layers, accelerator(), stats);
        }

        /** An FP32 model has no packed layers to load: the executor quantizes first and binds with {@link #bind(EncoderModel, List, RunStats)}. */
        default EncoderModel bind(EncoderModel model) {
            throw new UnsupportedOperationException(id() + " computes packed layers: quantize the model and bind its packed layers");
        }
    }

    /** The bit-exact software emulator; its jobs share the worker pool with the host path. */
    record Emulator(Accelerator accelerator, int parallelism) implements OnAccelerator {
        public Emulator {
            Objects.requireNonNull(accelerator, "accelerator");
        }

        public String id() { return "emulator"; }
        public DeviceKind kind() { return DeviceKind.DEVICE_KIND_EMULATOR; }
        public String description() {
            return accelerator.describe().name() + "; shares the " + parallelism + " host workers";
        }
    }

    /** An accelerator card: exclusive, one job at a time, in priority then submission order. */
    record Board(String id, Accelerator accelerator) implements OnAccelerator {
        public Board {
            Objects.requireNonNull(accelerator, "accelerator");
            if (!id.equals(id.toLowerCase(Locale.ROOT)) || id.isBlank()) throw new IllegalArgumentException("board id must be lower case and not blank: '" + id + "'");
        }

        public DeviceKind kind() { return DeviceKind.DEVICE_KIND_BOARD; }
        public String description() { return accelerator.describe().name() + "; exclusive, one job at a time"; }
        public int parallelism() { return 1; }
    }
}
