package io.qbridge.emulator;

import io.qbridge.device.PerfConfig;
import io.qbridge.device.ActivationMode;

import io.qbridge.format.QuantFormat;
import java.util.List;

/**
 * Configuration of an emulated device.
 *
 * @param perf             the cycle and energy model's parameters (array size, clock, buffers, bandwidth, energies)
 * @param supportedFormats format ids the device loads; {@link #ANY_FORMAT} accepts every format the decoder knows
 *                         (tests use it for odd group sizes)
 * @param activations      how activations enter the datapath: INT8 per token (the default) or MX-INT8 blocks of 32
 * @param axbxp            the per-layer Ax-BxP configurations of the {@link ActivationMode#AXBXP} mode (empty otherwise)
 * @param plans            where the INT16 plans of loaded layers are kept between processes, or null for nowhere (the
 *                         default; the CLI keeps them in the user's cache, see {@link PlanCache})
 */
public record EmulatorConfig(PerfConfig perf, List<String> supportedFormats, ActivationMode activations, AxBxpPlan axbxp, PlanCache plans) {
    public static final String ANY_FORMAT = "*";

    /** The formats the accelerator bitstreams are planned for. */
    public static final List<String> DEFAULT_FORMATS = List.of("rtn-w4g128", "int4-asym-g128", "mxint8", "mxfp8-e4m3", "mxfp8-e5m2",
            "mxfp6-e2m3", "mxfp6-e3m2", "mxfp4", "microscopiq-w4", "microscopiq-w2", "fineq",
            "lobcq-c8-a64", "lobcq-c16-a128", "lobcq-c16-a64", "rtn-w8g128");

    public EmulatorConfig {
        if (perf == null) throw new IllegalArgumentException("performance-model configuration is null");
        if (supportedFormats == null || supportedFormats.isEmpty()) throw new IllegalArgumentException("an emulator must support at least one format");
        for (String id : supportedFormats) {
            if (id.equals(ANY_FORMAT)) continue;
            QuantFormat f = QuantFormat.parse(id); // throws a clear IllegalArgumentException for unknown names
            if (!f.id().equals(id)) throw new IllegalArgumentException("format '" + id + "' is spelled '" + f.id() + "' canonically");
        }
        if (activations == null) throw new IllegalArgumentException("activation mode is null (valid: " + ActivationMode.validNames() + ")");
        supportedFormats = List.copyOf(supportedFormats);
        if (axbxp == null) axbxp = NO_AXBXP;
    }

    /** No Ax-BxP configuration: every layer loaded in the axbxp mode is refused until one is given. */
    public static final AxBxpPlan NO_AXBXP = new AxBxpPlan(null, java.util.Map.of());

    public EmulatorConfig(PerfConfig perf, List<String> supportedFormats, ActivationMode activations, AxBxpPlan axbxp) {
        this(perf, supportedFormats, activations, axbxp, null);
    }

    public EmulatorConfig(PerfConfig perf, List<String> supportedFormats, ActivationMode activations) {
        this(perf, supportedFormats, activations, NO_AXBXP);
    }

    /** The same device with the Ax-BxP configurations of {@code plan} (used in the axbxp activation mode). */
    public EmulatorConfig withAxBxp(AxBxpPlan plan) {
        return new EmulatorConfig(perf, supportedFormats, activations, plan, plans);
    }

    /** The same device keeping its layers' INT16 plans in {@code cache} (null: nowhere). */
    public EmulatorConfig withPlans(PlanCache cache) {
        return new EmulatorConfig(perf, supportedFormats, activations, axbxp, cache);
    }

    /** With the default activations, INT8 per token. */
    public EmulatorConfig(PerfConfig perf, List<String> supportedFormats) {
        this(perf, supportedFormats, ActivationMode.INT8_PER_TOKEN);
    }

    /** The same device taking activations as {@code mode}. */
    public EmulatorConfig withActivations(ActivationMode mode) {
        return new EmulatorConfig(perf, supportedFormats, mode, axbxp, plans);
    }

    public static EmulatorConfig defaults() {
        return new EmulatorConfig(PerfConfig.u55c(), DEFAULT_FORMATS);
    }

    public static EmulatorConfig anyFormat(PerfConfig perf) {
        return new EmulatorConfig(perf, List.of(ANY_FORMAT));
    }

    public boolean supports(QuantFormat f) {
        return supportedFormats.contains(ANY_FORMAT) || supportedFormats.contains(f.id());
    }
}
