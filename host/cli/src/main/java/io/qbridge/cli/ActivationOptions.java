package io.qbridge.cli;

import io.qbridge.device.ActivationMode;
import io.qbridge.emulator.EmulatorConfig;
import picocli.CommandLine.Option;

/** {@code --activations}: how the device takes activations; shared by the commands that accept {@code --device}. */
final class ActivationOptions {
    @Option(names = "--activations", defaultValue = "int8-token", paramLabel = "int8-token|mxint8|lobcq|axbxp",
            description = "Activations as the device takes them: int8-token (default: INT8, one fp32 scale per token), mxint8 "
                    + "(MX-INT8: blocks of 32 along K, one E8M0 exponent each; docs/emulator.md §1b) or lobcq (LO-BCQ W4A4: "
                    + "encoded online with the layer's codebooks, for lobcq-… weights only; docs/emulator.md §8) or axbxp (Ax-BxP: "
                    + "INT8 activations and rtn-w8g<g> weights, each product the approximate blocked product of the layer's configuration, "
                    + "from the .qbz or --axbxp; docs/emulator.md §9).")
    String activations;

    /** The chosen mode; an unknown name is a one-line user error listing the valid ones. */
    ActivationMode mode() {
        try {
            return ActivationMode.parse(activations);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException("--activations: " + e.getMessage());
        }
    }

    /** The emulator configuration {@code base} taking activations as chosen. */
    EmulatorConfig apply(EmulatorConfig base) {
        return base.withActivations(mode());
    }
}
