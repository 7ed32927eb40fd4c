package io.qbridge.runtime;

import io.qbridge.compute.Parallel;
import io.qbridge.device.Accelerator;
import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.format.QuantFormat;
import io.qbridge.model.Linear;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.model.llama.LlamaWeights;
import io.qbridge.pipeline.DecoderEvaluator;
import io.qbridge.pipeline.DecoderQuantizer;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedDecoders;
import io.qbridge.pipeline.QuantizedLayer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Moves every linear layer of an encoder, or every transformer-block linear layer of a decoder, onto an accelerator. */
public final class AcceleratorModels {
    private AcceleratorModels() {}

    /** The quantized model of {@code quantized} with all its linear layers on {@code device}. */
    public static EncoderModel onDevice(EncoderQuantizer.Result quantized, Accelerator device, RunStats stats) {
        return onDevice(quantized.model(), quantized.layers(), device, stats);
    }

    /**
     * {@code base} with each linear layer replaced by the device-resident packed layer of the same name.
     *
     * @throws IllegalArgumentException if a linear layer of the model has no packed layer (every matrix
     *                                  product must run on the device, none silently on the host)
     */
    public static EncoderModel onDevice(EncoderModel base, List<QuantizedLayer> layers, Accelerator device, RunStats stats) {
        Map<String, QuantizedLayer> byName = new HashMap<>();
        for (QuantizedLayer l : layers) byName.put(l.name(), l);
        List<Linear> linears = base.encoder().linears();
        List<QuantizedLayer> packed = new ArrayList<>(linears.size());
        for (Linear lin : linears) {
            QuantizedLayer q = byName.get(lin.name());
            if (q == null) throw new IllegalArgumentException("linear layer " + lin.name() + " has no packed weights to load on the device");
            if (q.packed().n() != lin.outFeatures() || q.packed().k() != lin.inFeatures())
                throw new IllegalArgumentException(lin.name() + ": packed weights are " + q.packed().n() + "x" + q.packed().k() + ", the model needs "
                        + lin.outFeatures() + "x" + lin.inFeatures());
            packed.add(q);
        }
        // The emulator's loads decode and plan every layer on the host (a third of a second for MiniLM's 36): both cores.
        AcceleratorLinear[] loaded = new AcceleratorLinear[packed.size()];
        Parallel.RangeBody load = (from, to) -> {
            for (int i = from; i < to; i++) loaded[i] = AcceleratorLinear.of(packed.get(i), device, stats);
        };
        if (device.loadsConcurrently()) Parallel.forRange(loaded.length, 1, load);
        else load.run(0, loaded.length);
        Map<String, Linear> onDevice = new HashMap<>();
        for (AcceleratorLinear a : loaded) onDevice.put(a.name(), a);
        return base.mapLinears(lin -> onDevice.get(lin.name()));
    }

    /**
     * A decoder whose transformer-block linear layers run on {@code device}, quantized by an RTN-style
     * recipe; the classifier stays on the host in FP32 (its weights are the shared embedding table).
     */
    public static LlamaWeights decoderOnDevice(LlamaWeights fp32, QuantRecipe recipe,
                                                                      Accelerator device, RunStats stats) {
        return decoderOnDevice(fp32, DecoderEvaluator.quantizeBlocks(fp32, recipe), device, stats);
    }

    /**
     * A decoder whose linear layers named in {@code q} (quantized elsewhere, e.g. GPTQ-calibrated by
     * {@link DecoderQuantizer}) run on {@code device}; the others stay on the host.
     */
    public static LlamaWeights decoderOnDevice(LlamaWeights fp32, Map<String, QuantizedLayer> q,
                                                                      Accelerator device, RunStats stats) {
        device.expectDecoding();
        return withSharedInputViews(fp32.mapLinears(lin -> {
            QuantizedLayer ql = q.get(lin.name());
            return ql == null ? lin : AcceleratorLinear.of(ql, device, stats);
        }));
    }

    /**
     * {@code w} with each block's q/k/v and w1/w3 views ({@link LlamaWeights.Layer#wqkv()})
     * made of its device-resident layers ({@link SharedInputLinear}): one device call with one activation
     * quantization per view instead of three and two, the same bits. A view stays null where its parts cannot share
     * a call (one of them on the host, or act-order permuted).
     */
    static LlamaWeights withSharedInputViews(LlamaWeights w) {
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < w.layers().size(); l++) {
            LlamaWeights.Layer b = w.layers().get(l);
            layers.add(new LlamaWeights.Layer(b.attnNorm(), b.wq(), b.wk(), b.wv(), b.wo(), b.ffnNorm(), b.w1(), b.w2(), b.w3(),
                    SharedInputLinear.of("layers." + l + ".wqkv", b.wq(), b.wk(), b.wv()), SharedInputLinear.of("layers." + l + ".w13", b.w1(), b.w3())));
        }
        return new LlamaWeights(w.config(), w.tokenEmbedding(), layers, w.finalNorm(), w.classifier());
    }

    /**
     * {@code w} with its classifier (the output projection, {@code [vocab][dim]}) quantized by RTN to {@code format}
     * and run on {@code device}, as llama2.c's {@code runq} and llama.cpp do; the other layers as they are. Off by
     * default in {@code generate}: the MicroScopiQ, FineQ and GPTQ evaluations quantize the transformer blocks
     * only and keep the classifier in full precision.
     */
    public static LlamaWeights classifierOnDevice(LlamaWeights w, QuantFormat format,
                                                                         Accelerator device, RunStats stats) {
        return classifierOnDevice(w, DecoderQuantizer.quantizeClassifier(w, format), device, stats);
    }

    /** {@code w} with its classifier replaced by the packed {@code classifier} (e.g. from a decoder .qbz) on {@code device}. */
    public static LlamaWeights classifierOnDevice(LlamaWeights w, QuantizedLayer classifier,
                                                                         Accelerator device, RunStats stats) {
        device.expectDecoding();
        return new LlamaWeights(w.config(), w.tokenEmbedding(), w.layers(), w.finalNorm(), AcceleratorLinear.of(classifier, device, stats));
    }

    /**
     * A decoder .qbz on {@code device}: its block layers, and its classifier when the container packs it; the rest
     * on the host. {@code qbridge generate --model x.qbz} and the server's generate job both run this.
     */
    public static LlamaWeights containerOnDevice(QuantizedDecoders.Loaded q, Accelerator device, RunStats stats) {
        return decoderOnDevice(q.model(), q.blockLayers(), q.classifier(), device, stats);
    }

    /**
     * {@code emulator} for a decoder .qbz: in the axbxp mode with the plan of {@link #containerAxBxpPlan}, in any other
     * mode as it is; {@code generate --model x.qbz}, {@code eval --model x.qbz --activations} and the server's decoder
     * jobs all configure their emulator here.
     *
     * @throws IllegalArgumentException naming the setting, if one is malformed, or the first packed layer (the
     *                                  classifier too, when packed) left without a configuration
     */
    public static io.qbridge.emulator.EmulatorConfig forContainer(io.qbridge.emulator.EmulatorConfig emulator, QuantizedDecoders.Loaded q, AxBxp.Config uniform) {
        return emulator.activations() == io.qbridge.device.ActivationMode.AXBXP ? emulator.withAxBxp(containerAxBxpPlan(q, uniform)) : emulator;
    }

    /**
     * The Ax-BxP configurations a decoder .qbz stores ({@code quantize --axbxp-budget}), with {@code uniform} (may be
     * null) for the layers it names none.
     *
     * @throws IllegalArgumentException as {@link #forContainer}
     */
    public static AxBxpPlan containerAxBxpPlan(QuantizedDecoders.Loaded q, AxBxp.Config uniform) {
        AxBxpPlan plan = AxBxpPlan.fromSettings(q.manifest().settings()).withUniform(uniform); // fromSettings names no uniform one
        for (QuantizedLayer l : q.packedLayers()) {
            if (plan.uniform() == null && !plan.layers().containsKey(l.name()))
                throw new IllegalArgumentException("stores no Ax-BxP configuration for " + l.name() + ": quantize it with --axbxp-budget");
        }
        return plan;
    }

    /**
     * The decoder with its block layers {@code blocks} and, if not null, its packed {@code classifier} resident on
     * {@code device}; the rest stays on the host. {@code generate} runs a checkpoint quantized in memory and a .qbz
     * through this one path.
     */
    public static LlamaWeights decoderOnDevice(LlamaWeights w, Map<String, QuantizedLayer> blocks,
                                                                      QuantizedLayer classifier, Accelerator device, RunStats stats) {
        LlamaWeights out = decoderOnDevice(w, blocks, device, stats);
        return classifier == null ? out : classifierOnDevice(out, classifier, device, stats);
    }
}
