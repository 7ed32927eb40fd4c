package io.qbridge.pipeline;

import io.qbridge.data.EvalCorpus;
import io.qbridge.model.bert.EncoderModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * An encoder ready to run on a device: the FP32 model around its linear layers (embeddings, norms, attention)
 * and the packed layers that replace them. Made from a {@code .qbz} container or by quantizing a built-in
 * model; the run and bench commands and the job server all prepare models through here.
 *
 * @param name   the base model's alias (or, for a file base, its label {@code onnx-<sha256 prefix>})
 * @param format the packed format's id
 */
public record PreparedEncoder(String name, String format, EncoderModel base, List<QuantizedLayer> layers) {
    public PreparedEncoder {
        layers = List.copyOf(layers);
    }

    /** The packed model in a {@code .qbz} container of a built-in base. */
    public static PreparedEncoder load(Path qbz) throws IOException {
        return load(qbz, QuantizedEncoders.BaseLookup.NONE);
    }

    /** The packed model in a {@code .qbz} container; a file base comes from {@code bases}. */
    public static PreparedEncoder load(Path qbz, QuantizedEncoders.BaseLookup bases) throws IOException {
        QuantizedEncoders.Loaded q = QuantizedEncoders.load(qbz, bases);
        return new PreparedEncoder(q.manifest().model(), q.manifest().format(), q.model(), q.layers());
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
        if (recipe.format() == null) throw new IllegalArgumentException("fp32 runs on the host; a device needs a quantized format");
        List<int[]> calib = recipe.needsCalibration() ? EncoderQuantizer.calibrationIds(fp32, EvalCorpus.Split.CALIBRATION.count) : List.of();
        EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, recipe, calib, onLayer);
        return new PreparedEncoder(name, recipe.format().id(), fp32, r.layers());
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
