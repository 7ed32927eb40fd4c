package io.qbridge.emulator;

import io.qbridge.device.PerformanceModel;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.ActivationMode;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.format.PackedTensor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The software device: {@link WeightDecoder} at load, {@link ActivationQuantizer} + {@link Datapath} per run,
 * and the {@link PerformanceModel}'s estimate of what the run would cost on the configured array.
 *
 * <p>Host memory is the device memory, so the transfer stage is empty (0 ns): nothing is copied that the
 * kernel could not read in place. Dequantization (activation scale, fp32 rounding, bias) is fused into the
 * compute kernel's write-back, as in the hardware's output unit, so its time is part of the compute stage
 * and the dequantize stage reports 0 ns. In the INT16 mode without zero points the activation quantization is
 * fused too (each thread quantizes its own token panels right before its tiles read them), so the quantize
 * stage reports 0 ns there and its time is inside compute. The packed bytes still count against the configured device memory so a
 * model that would not fit the card fails here too.
 */
public final class EmulatorAccelerator implements Accelerator {
    /**
     * A loaded layer: {@code datapath} for INT8-per-token activations (and {@code matVec}, the slot of its decode
     * kernel for a few tokens), {@code mx} for MX-INT8 blocks, {@code lobcq} for LO-BCQ activations; the
     * kernels of the other modes are null.
     *
     * <p>The decode kernel ({@link MatVecKernel#of}: null when the layer does not qualify) is built at load once
     * decoding is expected ({@link #expectDecoding}) and otherwise on the layer's first call of a few tokens: an encoder
     * run, whose calls hold hundreds of tokens, pays neither for planes it never reads nor for the kernel's JIT warm-up.
     */
    private record Resident(LayerHandle handle, Datapath datapath, MxActivationKernel mx, LoBcqKernel lobcq, float[] bias,
                            PerformanceModel.LayerProfile profile, Lazy<MatVecKernel> matVec, AxBxpKernel axbxp, PerformanceModel.BlockProductPe pe) {
        Resident(LayerHandle handle, Datapath datapath, MxActivationKernel mx, LoBcqKernel lobcq, float[] bias,
                 PerformanceModel.LayerProfile profile, Lazy<MatVecKernel> matVec) {
            this(handle, datapath, mx, lobcq, bias, profile, matVec, null, null);
        }

        PerformanceModel.Estimate estimate(PerformanceModel model, int rows) {
            return model.estimate(profile, rows, pe);
        }
    }

    private final EmulatorConfig config;
    /** Whether calls of at most {@link MatVecKernel#MAX_ROWS} tokens take the decode kernel (same results; tests compare the two). */
    private final boolean decodeKernel;
    /** Set by {@link #expectDecoding}: layers loaded from then on build their decode kernel at once. */
    private volatile boolean decoding;
    private final PerformanceModel model;
    private final Map<Long, Resident> layers = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong used = new AtomicLong();
    private volatile boolean closed;

    public EmulatorAccelerator(EmulatorConfig config) {
        this(config, true);
    }

    /**
     * With {@code decodeKernel} false every call runs the tiled {@link Datapath}, as before the decode kernel
     * existed: the outputs are the same bits either way (the tests run both).
     */
    public EmulatorAccelerator(EmulatorConfig config, boolean decodeKernel) {
        this.config = config;
        this.decodeKernel = decodeKernel;
        this.model = new PerformanceModel(config.perf(), config.activations());
    }

    public EmulatorConfig config() {
        return config;
    }

    @Override
    public DeviceInfo describe() {
        PerfConfig p = config.perf();
        return new DeviceInfo(DeviceKind.EMULATOR, "qbridge emulator (" + p.preset() + ", " + p.dataflow().name().toLowerCase().replace('_', '-')
                + ", " + config.activations().id() + " activations)",
                p.arrayRows(), p.arrayCols(), p.clockMhz(), config.supportedFormats(), p.memoryBytes(), p.offChipBytesPerSecond());
    }

    @Override
    public LayerHandle load(PackedTensor weights, float[] bias) {
        return load(null, weights, bias);
    }

    /** {@inheritDoc} In the axbxp mode the layer's configuration is {@code config().axbxp().configFor(layer)}. */
    @Override
    public LayerHandle load(String layer, PackedTensor weights, float[] bias) {
        checkOpen();
        if (weights == null) throw new IllegalArgumentException("weights are null");
        if (!config.supports(weights.format()))
            throw new IllegalArgumentException("format " + weights.format().id() + " is not supported by this device (supported: " + config.supportedFormats() + ")");
        if (bias != null && bias.length != weights.n())
            throw new IllegalArgumentException("bias has " + bias.length + " values, the weights have " + weights.n() + " outputs");
        long size = weights.bytes().length;
        if (used.addAndGet(size) > config.perf().memoryBytes()) {
            used.addAndGet(-size);
            throw new IllegalArgumentException("device memory full: " + size + " more bytes do not fit in " + config.perf().memoryBytes());
        }
        try {
            if (config.activations() == ActivationMode.LOBCQ) {
                if (!config.activations().takes(weights.format()))
                    throw new IllegalArgumentException("--activations lobcq needs LO-BCQ weights (lobcq-…), got " + weights.format().id());
                LoBcqWeights lw = LoBcqWeights.decode(weights);
                LayerHandle h = new LayerHandle(ids.incrementAndGet(), weights.format(), weights.n(), weights.k(), size);
                layers.put(h.id(), new Resident(h, null, null, new LoBcqKernel(lw), bias == null ? null : bias.clone(),
                        lw.toDecoded().profile(size), null));
                return h;
            }
            if (config.activations() == ActivationMode.AXBXP) {
                AxBxpPlan.checkWeights(weights.format());
                AxBxp.Config c = config.axbxp().configFor(layer);
                DecodedWeights d = WeightDecoder.decode(weights);
                LayerHandle h = new LayerHandle(ids.incrementAndGet(), weights.format(), weights.n(), weights.k(), size);
                layers.put(h.id(), new Resident(h, null, null, null, bias == null ? null : bias.clone(), d.profile(size), null, new AxBxpKernel(d, c),
                        AxBxpCost.pe(c, config.perf())));
                return h;
            }
            LayerHandle h = new LayerHandle(ids.incrementAndGet(), weights.format(), weights.n(), weights.k(), size);
            float[] b = bias == null ? null : bias.clone();
            if (config.activations() == ActivationMode.MXINT8_BLOCK32) {
                DecodedWeights d = WeightDecoder.decode(weights);
                layers.put(h.id(), new Resident(h, null, new MxActivationKernel(d), null, b, d.profile(size), null));
                return h;
            }
            Datapath dp = datapath(weights);
            Lazy<MatVecKernel> matVec = decodeKernel ? new Lazy<>(() -> MatVecKernel.of(dp.weights())) : null;
            if (matVec != null && decoding) matVec.get();
            layers.put(h.id(), new Resident(h, dp, null, null, b, dp.profile(size), matVec));
            return h;
        } catch (RuntimeException e) {
            used.addAndGet(-size);
            throw e;
        }
    }

    /**
     * The layer's datapath: its plan read from the {@link PlanCache} when the config has one holding it, else decoded and
     * planned here (and then kept there when it is an INT16 plan).
     */
    private Datapath datapath(PackedTensor weights) {
        PlanCache cache = config.plans();
        String key = cache == null ? null : PlanCache.key(weights); // one digest of the packed bytes for the read and the write
        PlanCache.Entry kept = cache == null ? null : cache.read(key, weights);
        if (kept != null) return Datapath.planned(kept.header(), kept.plan(), () -> WeightDecoder.decode(weights));
        Datapath dp = new Datapath(WeightDecoder.decode(weights));
        if (cache != null && dp.mode() == Datapath.Mode.INT16) cache.write(key, dp.weights(), dp.plan());
        return dp;
    }

    /** The decoded layer behind a handle (tests and reports). */
    public Datapath datapath(LayerHandle h) {
        Datapath d = resident(h).datapath();
        if (d == null) throw new IllegalStateException("layer " + h + " runs with " + config.activations().id() + " activations: see mxKernel");
        return d;
    }

    /** The decode kernel behind a handle, or null when the layer has none (tests and reports). */
    public MatVecKernel matVecKernel(LayerHandle h) {
        Lazy<MatVecKernel> slot = resident(h).matVec();
        return slot == null ? null : slot.get();
    }

    /** Loads only decode and plan on the host, into concurrent maps and counters. */
    @Override
    public boolean loadsConcurrently() {
        return true;
    }

    @Override
    public void expectDecoding() {
        decoding = true;
    }

    /** The MX-INT8-activation kernel behind a handle (only with {@link ActivationMode#MXINT8_BLOCK32}). */
    public MxActivationKernel mxKernel(LayerHandle h) {
        MxActivationKernel m = resident(h).mx();
        if (m == null) throw new IllegalStateException("layer " + h + " runs with " + config.activations().id() + " activations: see datapath");
        return m;
    }

    /** The performance estimate for {@code rows} tokens through a loaded layer, without running it. */
    public PerformanceModel.Estimate estimate(LayerHandle h, int rows) {
        return resident(h).estimate(model, rows);
    }

    @Override
    public RunResult run(LayerHandle handle, float[] x, int rows, float[] y) {
        checkOpen();
        Resident res = resident(handle);
        int n = handle.n(), k = handle.k();
        if (rows < 0) throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        checkHolds("x", x, rows, k);
        checkHolds("y", y, rows, n);
        if (res.mx() != null) return runMx(res, x, rows, y);
        if (res.lobcq() != null) return runLoBcq(res, x, rows, y);
        if (res.axbxp() != null) return runAxBxp(res, x, rows, y);
        long t0 = System.nanoTime();
        MatVecKernel matVec = res.matVec() != null && rows >= 1 && rows <= MatVecKernel.MAX_ROWS ? res.matVec().get() : null;
        if (matVec != null) {
            // a few tokens (decoding): the matrix-vector kernel, activation quantization included
            matVec.run(x, rows, res.bias(), y);
            long t2 = System.nanoTime();
            PerformanceModel.Estimate e = model.estimate(res.profile(), rows);
            return new RunResult(0, 0, t2 - t0, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
        }
        Scratch s = SCRATCH.get();
        int rowsP = Datapath.paddedRows(rows);
        boolean floats = res.datapath().mode() == Datapath.Mode.FP32_EXACT;
        boolean shorts = res.datapath().mode() == Datapath.Mode.INT16;
        int[] q = shorts ? null : (s.q = grow(s.q, rowsP * k));
        float[] qf = floats ? (s.qf = grow(s.qf, rowsP * k)) : null;
        short[] qs = shorts ? (s.qs = grow(s.qs, rowsP * k)) : null;
        float[] xs = s.xs = grow(s.xs, rows);
        if (res.datapath().quantizesPerPanel()) {
            // quantization fused into the kernel's panel loop: its time is inside the compute stage
            res.datapath().computeInt16From(x, qs, xs, res.bias(), rows, y);
            long t2 = System.nanoTime();
            PerformanceModel.Estimate e = model.estimate(res.profile(), rows);
            return new RunResult(0, 0, t2 - t0, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
        }
        ActivationQuantizer.quantize(x, k, rows, rowsP, q, qf, qs, xs);
        long t1 = System.nanoTime();
        res.datapath().compute(q, qf, qs, xs, res.bias(), rows, y);
        long t2 = System.nanoTime();
        PerformanceModel.Estimate e = model.estimate(res.profile(), rows);
        return new RunResult(t1 - t0, 0, t2 - t1, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
    }

    /** {@code a} (named {@code what}) holds {@code rows} rows of {@code width} values, else the one error line. */
    private static void checkHolds(String what, float[] a, int rows, int width) {
        if (a.length < (long) rows * width)
            throw new IllegalArgumentException(what + " holds " + a.length + " values, " + rows + " rows of " + width + " need " + (long) rows * width);
    }

    /**
     * {@inheritDoc} When every layer has a decode kernel and the call is a few tokens, the activations are quantized
     * once and all the layers' slabs fan out over the team in one pass ({@link MatVecKernel#runShared}); otherwise each
     * layer runs alone. The host time of the shared pass is split over the layers in proportion to their outputs.
     */
    @Override
    public RunResult[] runShared(LayerHandle[] handles, float[] x, int rows, float[][] ys) {
        checkOpen();
        if (handles.length != ys.length) throw new IllegalArgumentException(handles.length + " layers but " + ys.length + " output arrays");
        MatVecKernel[] kernels = new MatVecKernel[handles.length];
        Resident[] res = new Resident[handles.length];
        boolean shared = decodeKernel && rows >= 1 && rows <= MatVecKernel.MAX_ROWS && handles.length > 0;
        for (int i = 0; i < handles.length; i++) {
            res[i] = resident(handles[i]);
            if (handles[i].k() != handles[0].k())
                throw new IllegalArgumentException("layers sharing one input need one K, got " + handles[0].k() + " and " + handles[i].k());
            if (shared && res[i].matVec() != null) kernels[i] = res[i].matVec().get();
            shared &= kernels[i] != null;
        }
        if (!shared) return Accelerator.super.runShared(handles, x, rows, ys);
        int k = handles[0].k();
        checkHolds("x", x, rows, k);
        float[][] biases = new float[handles.length][];
        long outputs = 0;
        for (int i = 0; i < handles.length; i++) {
            checkHolds("y", ys[i], rows, handles[i].n());
            biases[i] = res[i].bias();
            outputs += handles[i].n();
        }
        long t0 = System.nanoTime();
        MatVecKernel.runShared(kernels, x, rows, biases, ys);
        long nanos = System.nanoTime() - t0;
        RunResult[] out = new RunResult[handles.length];
        for (int i = 0; i < handles.length; i++) {
            PerformanceModel.Estimate e = model.estimate(res[i].profile(), rows);
            out[i] = new RunResult(0, 0, nanos * handles[i].n() / outputs, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
        }
        return out;
    }

    /** The MX-INT8 activation path (docs/emulator.md §1b): block quantizer, then the piece kernel. */
    private RunResult runMx(Resident res, float[] x, int rows, float[] y) {
        int k = res.handle().k();
        long t0 = System.nanoTime();
        Scratch s = SCRATCH.get();
        int rowsP = MxActivationKernel.paddedRows(rows);
        int[] q = s.q = grow(s.q, rowsP * k);
        int[] exps = s.exps = grow(s.exps, rowsP * MxActivationQuantizer.blocks(k));
        MxActivationQuantizer.quantize(x, k, rows, rowsP, q, exps);
        long t1 = System.nanoTime();
        res.mx().compute(q, exps, res.bias(), rows, y);
        long t2 = System.nanoTime();
        PerformanceModel.Estimate e = model.estimate(res.profile(), rows);
        return new RunResult(t1 - t0, 0, t2 - t1, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
    }

    /** The LO-BCQ W4A4 path (docs/emulator.md §8): online activation encoder, then the look-up kernel. */
    private RunResult runLoBcq(Resident res, float[] x, int rows, float[] y) {
        LoBcqKernel kern = res.lobcq();
        long t0 = System.nanoTime();
        LoBcqActivations act = LoBcqActivations.encode(kern.encoder(), x, rows, res.handle().k());
        long t1 = System.nanoTime();
        kern.compute(act, res.bias(), rows, y);
        long t2 = System.nanoTime();
        PerformanceModel.Estimate e = model.estimate(res.profile(), rows);
        return new RunResult(t1 - t0, 0, t2 - t1, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
    }

    /** The Ax-BxP path (docs/emulator.md §9): INT8 per-token activations (§1), then the approximate-product kernel. */
    private RunResult runAxBxp(Resident res, float[] x, int rows, float[] y) {
        int k = res.handle().k();
        long t0 = System.nanoTime();
        Scratch s = SCRATCH.get();
        int[] q = s.q = grow(s.q, rows * k);
        float[] xs = s.xs = grow(s.xs, rows);
        ActivationQuantizer.quantize(x, k, rows, q, xs);
        long t1 = System.nanoTime();
        res.axbxp().compute(q, xs, res.bias(), rows, y);
        long t2 = System.nanoTime();
        PerformanceModel.Estimate e = res.estimate(model, rows);
        return new RunResult(t1 - t0, 0, t2 - t1, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs());
    }

    /** The Ax-BxP kernel behind a handle (only with {@link ActivationMode#AXBXP}). */
    public AxBxpKernel axbxpKernel(LayerHandle h) {
        AxBxpKernel k = resident(h).axbxp();
        if (k == null) throw new IllegalStateException("layer " + h + " runs with " + config.activations().id() + " activations");
        return k;
    }

    /** The LO-BCQ look-up kernel behind a handle (only with {@link ActivationMode#LOBCQ}). */
    public LoBcqKernel loBcqKernel(LayerHandle h) {
        LoBcqKernel k = resident(h).lobcq();
        if (k == null) throw new IllegalStateException("layer " + h + " runs with " + config.activations().id() + " activations");
        return k;
    }

    /**
     * Per-thread activation and accumulator buffers, reused across runs: allocating (and zeroing) tens of
     * megabytes per layer call cost as much as the arithmetic. Every run overwrites what it reads.
     */
    private static final class Scratch {
        int[] q = new int[0], exps = new int[0];
        float[] qf = new float[0], xs = new float[0];
        short[] qs = new short[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static int[] grow(int[] a, int n) { return a.length >= n ? a : new int[n]; }
    private static float[] grow(float[] a, int n) { return a.length >= n ? a : new float[n]; }
    private static short[] grow(short[] a, int n) { return a.length >= n ? a : new short[n]; }

    @Override
    public void unload(LayerHandle handle) {
        Resident r = layers.remove(handle.id());
        if (r != null && r.handle().equals(handle)) used.addAndGet(-handle.packedBytes());
    }

    @Override
    public void close() {
        closed = true;
        layers.clear();
        used.set(0);
    }

    private Resident resident(LayerHandle h) {
        Resident r = h == null ? null : layers.get(h.id());
        if (r == null || !r.handle().equals(h)) throw new IllegalArgumentException("layer handle " + h + " is not loaded on this device");
        return r;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the emulator has been closed");
    }
}
