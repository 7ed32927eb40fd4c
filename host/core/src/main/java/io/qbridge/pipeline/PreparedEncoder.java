package io.qbridge.pipeline;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * An encoder ready to run on a device: the FP32 model around its linear layers (embeddings, norms, attention)
 * and the packed layers that replace them. Made from a {@code .qbz} container or by quantizing an FP32 encoder
 * with a recipe; the CLI and the job server get every model they run through {@link #prepare} and
 * {@link #hostModel}, so a local command and a remote job compute with the same weights.
 *
 * @param name   the base model's alias (or, for a file base, its label {@code onnx-<sha256 prefix>})
 * @param format    the packed format's id
 * @param hostModel the model computing with these layers dequantized exactly, on the host (built once, by the
 *                  container loader or the quantizer)
 */
public record PreparedEncoder(String name, String format, EncoderModel base, List<QuantizedLayer> layers, EncoderModel hostModel) {
    public PreparedEncoder {
        layers = List.copyOf(layers);
    }

    /** What a command or job names: a {@code .qbz} container, or an FP32 encoder (built in or from an {@code .onnx}). */
    public sealed interface Source {
        /** A {@code .qbz} container; a file base comes from {@code bases}. */
        record Container(Path file, QuantizedEncoders.BaseLookup bases) implements Source {}

        /** An FP32 encoder, named {@code name} in reports and containers. */
        record Fp32(String name, EncoderModel model) implements Source {}
    }

    /**
     * The packed encoder {@code source} names: a container loaded onto its base (holding {@code recipe}'s format
     * when one is named: null or empty takes any), or an FP32 encoder quantized with {@code recipe} (calibrated
     * as {@code qbridge quantize} calibrates when the recipe's algorithm needs it).
     *
     * @param onLayer hears (layer name, layers done) after each layer quantized
     * @throws IllegalArgumentException if the recipe is unknown or fp32, or a container holds another format
     */
    public static PreparedEncoder prepare(Source source, String recipe, BiConsumer<String, Integer> onLayer) throws IOException {
        return prepare(source, recipe, onLayer, null);
    }

    /**
     * As {@link #prepare(Source, String, BiConsumer)}; {@code onCalibration} (may be null) hears one line before each
     * block's calibration pass, as {@link EncoderQuantizer#quantize(EncoderModel, QuantRecipe, List, BiConsumer, java.util.function.Consumer)} says it.
     */
    public static PreparedEncoder prepare(Source source, String recipe, BiConsumer<String, Integer> onLayer, java.util.function.Consumer<String> onCalibration)
            throws IOException {
        return switch (source) {
            case Source.Container c -> load(c.file(), c.bases()).requireFormat(recipe);
            case Source.Fp32 f -> quantize(f.name(), f.model(), QuantRecipe.parse(recipe), onLayer, onCalibration);
        };
    }

    /**
     * The model a host-path command or job computes with: a container's layers dequantized exactly, an FP32
     * encoder as it is when {@code recipe} is null, empty or {@code fp32}, else its layers quantized with
     * {@code recipe} and dequantized exactly (as {@link #prepare}).
     */
    public static EncoderModel hostModel(Source source, String recipe, BiConsumer<String, Integer> onLayer) throws IOException {
        if (source instanceof Source.Fp32 f && (recipe == null || recipe.isEmpty() || recipe.equalsIgnoreCase("fp32"))) return f.model();
        return prepare(source, recipe, onLayer).hostModel();
    }

    /** The packed model in a {@code .qbz} container of a built-in base. */
    public static PreparedEncoder load(Path qbz) throws IOException {
        return load(qbz, QuantizedEncoders.BaseLookup.NONE);
    }

    /** The packed model in a {@code .qbz} container; a file base comes from {@code bases}. */
    public static PreparedEncoder load(Path qbz, QuantizedEncoders.BaseLookup bases) throws IOException {
        QuantizedEncoders.Loaded q = QuantizedEncoders.load(qbz, bases);
        return new PreparedEncoder(q.manifest().model(), q.manifest().format(), q.model(), q.layers(), q.model());
    }

    /**
     * Quantizes every linear layer of a built-in encoder with {@code recipe} (a quantized one), calibrating on
     * the project's calibration split when the recipe needs it.
     *
     * @param onLayer hears (layer name, layers done) after each layer
     */
    public static PreparedEncoder quantize(EncoderModel.Builtin builtin, EncoderModel fp32, QuantRecipe recipe, BiConsumer<String, Integer> onLayer) {
        return quantize(builtin.alias, fp32, recipe, onLayer);
    }

    /** As {@link #quantize(EncoderModel.Builtin, EncoderModel, QuantRecipe, BiConsumer)} for any encoder, named {@code name}. */
    public static PreparedEncoder quantize(String name, EncoderModel fp32, QuantRecipe recipe, BiConsumer<String, Integer> onLayer) {
        return quantize(name, fp32, recipe, onLayer, null);
    }

    /** As {@link #quantize(String, EncoderModel, QuantRecipe, BiConsumer)}, a line before each calibration pass to {@code onCalibration} (may be null). */
    public static PreparedEncoder quantize(String name, EncoderModel fp32, QuantRecipe recipe, BiConsumer<String, Integer> onLayer,
                                           java.util.function.Consumer<String> onCalibration) {
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 runs on the host; a device needs a quantized format");
        List<int[]> calib = recipe.needsCalibration() ? EncoderQuantizer.calibrationIds(fp32, EvalCorpus.Split.CALIBRATION.count) : List.of();
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calib, onLayer, onCalibration);
        return new PreparedEncoder(name, recipe.format().id(), fp32, r.layers(), r.model());
    }

    /** This model, if {@code recipe} (null or empty: any) names the format it holds; else an error saying what it holds. */
    public PreparedEncoder requireFormat(String recipe) {
        if (recipe == null || recipe.isEmpty()) return this;
        QuantRecipe want = QuantRecipe.parse(recipe);
        if (want.format() == null || !want.format().id().equals(format)) {
            throw new IllegalArgumentException("it holds " + format + " weights, not " + recipe);
        }
        return this;
    }
}
