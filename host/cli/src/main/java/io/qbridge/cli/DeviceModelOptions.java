package io.qbridge.cli;

import io.qbridge.device.Accelerator;
import io.qbridge.device.ActivationMode;
import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.pipeline.PreparedEncoder;
import io.qbridge.pipeline.QuantRecipe;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiConsumer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options naming a quantized model and the device it runs on; shared by {@code run} and {@code bench}. */
final class DeviceModelOptions {
    /** The recipe a built-in or .onnx model is quantized with when {@code --format} is not given. */
    static final String DEFAULT_FORMAT = "microscopiq-w4@rtn";

    @Mixin ModelOptions model;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT",
            description = "Recipe for a built-in or .onnx model (default " + DEFAULT_FORMAT + "; a recipe such as microscopiq-w4 uses GPTQ as 'quantize' does). Must match a .qbz if given.")
    String format;

    @Mixin DeviceOption device;

    @Mixin ActivationOptions activations;

    @Option(names = "--preset", defaultValue = "u55c", paramLabel = "u55c|u250", description = "Card the performance model describes (default u55c).")
    String preset;

    @Option(names = "--axbxp", paramLabel = "CONFIG",
            description = "With --activations axbxp: the Ax-BxP configuration of every layer the .qbz gives none (k<K>-x<L><d|s>-w<L><d|s>-<full|sig<D>|m<bits>>, "
                    + "for example k2-x2d-w2d-full; docs/emulator.md §9). A .qbz quantized with --axbxp-budget holds one per layer.")
    String axbxp;

    @Option(names = "--perf", paramLabel = "FILE", description = "Properties file overriding performance-model parameters (see docs/performance-model.md).")
    Path perf;

    /** The packed model: a .qbz loaded onto its base, or the FP32 model quantized with the recipe (progress bar per layer). */
    PreparedEncoder prepare() throws IOException {
        // the recipe is checked before a model is loaded: a bad one fails at once, with one line
        QuantRecipe recipe = model.isContainer() ? null : QuantRecipe.parse(format == null ? DEFAULT_FORMAT : format);
        if (recipe != null && recipe.format() == null) throw new Main.UserException("fp32 runs on the host ('qbridge embed'); pick a quantized format for the device");
        long t0 = System.nanoTime();
        PreparedEncoder.Source source = model.source();
        if (source instanceof PreparedEncoder.Source.Fp32 fp32) {
            // the Hessian capture of a GPTQ-path recipe shows as quantize shows it (a line per block's calibration pass)
            PreparedEncoder q = QuantizeCommand.withProgress(fp32.model(), recipe, (onLayer, onCalibration) -> prepare(source, recipe.name(), onLayer, onCalibration));
            Log.info("quantized %s to %s (%s) in %.1f s", fp32.name(), q.format(), recipe.algorithm().name().toLowerCase(), (System.nanoTime() - t0) / 1e9);
            return q;
        }
        PreparedEncoder q = prepare(source, format, null, null);
        Log.info("loaded %s: %s on %s, %d packed layers, in %.1f s", model.model, q.format(), q.name(), q.layers().size(), (System.nanoTime() - t0) / 1e9);
        return q;
    }

    private PreparedEncoder prepare(PreparedEncoder.Source source, String recipe, BiConsumer<String, Integer> onLayer,
                                    java.util.function.Consumer<String> onCalibration) throws IOException {
        try {
            return PreparedEncoder.prepare(source, recipe, onLayer, onCalibration);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(model.model + ": " + e.getMessage());
        }
    }

    /** Opens the device with the chosen performance-model card and activation mode. */
    Accelerator open() throws IOException {
        ActivationMode mode = activations.mode(); // a bad name fails before the perf file is read
        PerfConfig pc = perf != null ? PerfConfig.load(perf) : PerfConfig.preset(preset);
        return device.open(new EmulatorConfig(pc, EmulatorConfig.DEFAULT_FORMATS, mode).withAxBxp(axbxpPlan(mode)).withPlans(plans()));
    }

    /** The emulator's layer plans kept in the user's cache ({@code plans} beside the resource cache), or null when it is off. */
    static io.qbridge.emulator.PlanCache plans() {
        Path dir = io.qbridge.files.ResourceCache.dir();
        return dir == null ? null : new io.qbridge.emulator.PlanCache(dir.resolve("plans"));
    }

    /** The Ax-BxP configurations: the container's per-layer ones, then {@code --axbxp} for the rest; a bad one is a one-line error. */
    private io.qbridge.emulator.AxBxpPlan axbxpPlan(ActivationMode mode) throws IOException {
        if (mode != ActivationMode.AXBXP) {
            if (axbxp != null) throw new Main.UserException("--axbxp: only with --activations axbxp");
            return EmulatorConfig.NO_AXBXP;
        }
        if (!model.isContainer() && axbxp == null) // before minutes of quantization
            throw new Main.UserException("--activations axbxp: " + model.model + " has no per-layer Ax-BxP configurations: give --axbxp CONFIG "
                    + "(for example k2-x2d-w2d-full), or run a .qbz quantized with --axbxp-budget");
        io.qbridge.emulator.AxBxpPlan plan = EmulatorConfig.NO_AXBXP;
        try {
            if (model.isContainer() && java.nio.file.Files.isRegularFile(Path.of(model.model)))
                plan = io.qbridge.emulator.AxBxpPlan.fromSettings(io.qbridge.container.QbzFile.readManifest(Path.of(model.model)).settings());
            if (axbxp != null) plan = plan.withUniform(io.qbridge.emulator.AxBxpPlan.parse(axbxp));
        } catch (IllegalArgumentException e) {
            throw new Main.UserException((axbxp != null && !e.getMessage().startsWith("settings") ? "--axbxp: " : model.model + ": ") + e.getMessage());
        }
        return plan;
    }
}
