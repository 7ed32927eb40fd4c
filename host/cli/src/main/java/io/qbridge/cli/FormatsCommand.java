package io.qbridge.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.device.ActivationMode;
import io.qbridge.pipeline.RecipeCatalog;
import io.qbridge.format.QuantFormat;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.xrt.KernelSignature;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge formats}: every format and recipe name the other commands take, and what each one is. */
@Command(name = "formats", mixinStandardHelpOptions = true,
        description = "List every weight format and recipe: bits/weight, block sizes, algorithm, devices, activation modes.")
final class FormatsCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print the list as JSON.")
    boolean json;

    /** The devices a packed recipe may run on: the emulator takes every format, an XRT device (a card or the software device) those an HLS kernel takes. */
    static final List<String> DEVICES = List.of("emulator", "xrt");

    @Override
    public Integer call() throws IOException {
        List<RecipeCatalog.Entry> entries = RecipeCatalog.entries();
        if (json) {
            try (JsonGenerator g = new JsonFactory().createGenerator(System.out, JsonEncoding.UTF8)) {
                g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
                g.useDefaultPrettyPrinter();
                g.writeStartObject();
                g.writeNumberField("referenceK", RecipeCatalog.REF_K);
                g.writeArrayFieldStart("recipes");
                for (RecipeCatalog.Entry e : entries) {
                    g.writeStartObject();
                    g.writeStringField("name", e.name());
                    g.writeStringField("family", e.family());
                    g.writeNumberField("bitsPerWeight", e.bitsPerWeight());
                    if (e.bitsFormula() != null) g.writeStringField("bitsFormula", e.bitsFormula());
                    g.writeStringField("blocks", e.blocks());
                    g.writeStringField("algorithm", e.algorithm());
                    g.writeBooleanField("simulated", e.simulated());
                    writeArray(g, "devices", devices(e));
                    writeArray(g, "activations", activations(e));
                    g.writeStringField("description", e.description());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            System.out.println();
            return 0;
        }
        System.out.printf("%-24s %8s  %-10s %-34s %s%n", "recipe", "bits/w", "algorithm", "blocks along K", "description");
        for (RecipeCatalog.Entry e : entries) {
            System.out.printf("%-24s %8s  %-10s %-34s %s%n", e.name(), fmt(e.bitsPerWeight()), e.algorithm() + (e.simulated() ? "*" : ""), e.blocks(), e.description());
            if (e.bitsFormula() != null) System.out.printf("%-24s %8s  bits/weight = %s%n", "", "", e.bitsFormula());
        }
        System.out.println();
        System.out.println("bits/w: every stored bit divided by the weights, at K = " + RecipeCatalog.REF_K + " (docs/formats.md has the byte layouts).");
        System.out.println("Algorithm: a suffix @rtn, @gptq or @gptq-act (GPTQ with act-order) overrides it; gptq needs calibration text, done as quantize does.");
        System.out.println("Devices: emulator for every packed recipe; xrt (a loaded Qbridge bitstream, see 'qbridge devices') for every packed recipe (hls/ has a kernel for each); * = simulated, 'eval' only.");
        System.out.println("Activations (--activations): int8-token and mxint8 for every packed recipe, lobcq (W4A4) for lobcq-* only, axbxp (Ax-BxP approximate products on the FxP8 baseline; emulator and board path) for rtn-w8g<g> only; fp32 runs on the host.");
        return 0;
    }

    static List<String> devices(RecipeCatalog.Entry e) {
        if (e.simulated()) return List.of();
        if (e.name().equals("fp32")) return List.of("host");
        return KernelSignature.hasKernel(QuantRecipe.parse(e.name()).format()) ? DEVICES : List.of("emulator");
    }

    /** The activation modes a recipe's weights run with on the emulator ({@link ActivationMode#takes}). */
    static List<String> activations(RecipeCatalog.Entry e) {
        if (e.simulated() || e.name().equals("fp32")) return List.of();
        QuantFormat f = QuantRecipe.parse(e.name()).format();
        return Arrays.stream(ActivationMode.values()).filter(m -> m.takes(f)).map(ActivationMode::id).toList();
    }

    private static void writeArray(JsonGenerator g, String field, List<String> values) throws IOException {
        g.writeArrayFieldStart(field);
        for (String v : values) g.writeString(v);
        g.writeEndArray();
    }

    private static String fmt(double bits) {
        String s = String.format(java.util.Locale.ROOT, "%.4f", bits);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
}
