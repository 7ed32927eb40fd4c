package io.qbridge.xrt;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.qbridge.device.Accelerator;
import io.qbridge.device.ActivationMode;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.DeviceKind;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.device.PerformanceModel;
import io.qbridge.device.RunResult;
import io.qbridge.emulator.AxBxp;
import io.qbridge.emulator.AxBxpCost;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.emulator.DecodedWeights;
import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.emulator.HlsVectors;
import io.qbridge.emulator.KernelInputs;
import io.qbridge.emulator.LoBcqBuffers;
import io.qbridge.emulator.LoBcqWeights;
import io.qbridge.emulator.WeightDecoder;
import io.qbridge.format.LoBcqEncoder;
import io.qbridge.format.LoBcqFormat;
import io.qbridge.format.PackedTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Layers on an XRT device: a card, or the software device of {@code hls/swdevice} (then the bitstream target is
 * {@code sw_emu}). Opening checks the bitstream in pure Java ({@link Axlf}, {@link BitstreamManifest#verify})
 * before XRT sees it, loads it, and opens the kernels its manifest entry lists. {@link #load} streams a layer's
 * packed weights and bias once into the banks the kernel reports; they stay resident. {@link #run} quantizes the
 * activations with the emulator's own quantizer ({@link KernelInputs}; LO-BCQ W4A4: the emulator's encoder with the
 * layer's table, {@link LoBcqBuffers}; Ax-BxP: INT8 per token, the layer's configuration in the kernel's scalars), syncs them, runs the kernel with one
 * {@code xrtRunSetArg} per argument, waits with a deadline and reads the outputs back, measuring each step.
 * Runs are serialised: each kernel is one compute unit.
 */
public final class XrtAccelerator implements Accelerator {
    /**
     * How to open the device.
     *
     * @param library    an explicit library path ({@code --xrt-library}), or null for the lookup order of {@link XrtLibraries}
     * @param index      the device index for {@code xrtDeviceOpen}
     * @param manifest   the bitstream manifest
     * @param runTimeout the longest wait for one run
     */
    public record Options(String library, int index, Path manifest, Duration runTimeout) {
        public static Options defaults(String library) {
            return new Options(library, 0, BitstreamManifest.DEFAULT, Duration.ofSeconds(60));
        }
    }

    /**
     * A loaded layer; {@code encoder} is the LO-BCQ activation encoder with the layer's table (W4A4 only, else null),
     * {@code pe} the block-multiplier PE the model prices an Ax-BxP layer's configuration with (axbxp only, else null).
     */
    private record Resident(LayerHandle handle, KernelSignature.Binding binding, XrtKernel kernel, XrtBuffer weights, XrtBuffer bias, boolean hasBias,
                            PerformanceModel.LayerProfile profile, LoBcqEncoder encoder, PerformanceModel.BlockProductPe pe) {}

    /** Per-kernel activation and output buffers, grown when a run needs more. */
    private static final class Scratch {
        XrtBuffer codes, scales, out;
    }

    private final XrtLibrary lib;
    private final Path libraryPath;
    private final boolean software;
    private final Function cycleCounter;
    private final XrtDevice device;
    private final BitstreamManifest.Entry bitstream;
    private final Axlf axlf;
    private final Map<String, XrtKernel> kernels;
    private final Map<String, Scratch> scratch;
    private final EmulatorConfig config;
    private final ActivationMode mode;
    private final PerformanceModel model;
    private final Duration runTimeout;
    private final Map<Long, Resident> layers = new ConcurrentHashMap<>();
    private final AtomicLong ids;
    private final ReentrantLock lock;
    /** The accelerator that owns the device, for a job's view ({@link #forJob}); null for the owner itself. */
    private final XrtAccelerator owner;
    private volatile boolean closed;

    private XrtAccelerator(XrtLibrary lib, Path libraryPath, boolean software, Function cycleCounter, XrtDevice device, BitstreamManifest.Entry bitstream,
                           Axlf axlf, EmulatorConfig config, Duration runTimeout) {
        this.lib = lib;
        this.libraryPath = libraryPath;
        this.software = software;
        this.cycleCounter = cycleCounter;
        this.device = device;
        this.bitstream = bitstream;
        this.axlf = axlf;
        this.config = config;
        this.mode = config.activations();
        this.model = new PerformanceModel(config.perf(), config.activations());
        this.runTimeout = runTimeout;
        this.kernels = new LinkedHashMap<>();
        this.scratch = new ConcurrentHashMap<>();
        this.ids = new AtomicLong();
        this.lock = new ReentrantLock();
        this.owner = null;
    }

    /** A view of {@code o}'s device, kernels, buffers and lock with its own configuration and layers ({@link #forJob}). */
    private XrtAccelerator(XrtAccelerator o, EmulatorConfig config) {
        this.lib = o.lib;
        this.libraryPath = o.libraryPath;
        this.software = o.software;
        this.cycleCounter = o.cycleCounter;
        this.device = o.device;
        this.bitstream = o.bitstream;
        this.axlf = o.axlf;
        this.config = config;
        this.mode = config.activations();
        this.model = new PerformanceModel(config.perf(), config.activations());
        this.runTimeout = o.runTimeout;
        this.kernels = o.kernels;
        this.scratch = o.scratch;
        this.ids = o.ids;
        this.lock = o.lock;
        this.owner = o;
    }

    /**
     * This device for one job that brings its own configuration (a board the server opened once and lends to remote
     * jobs): the job's activation mode, Ax-BxP plan and performance-model card, on this device's loaded bitstream and
     * kernels. Layers loaded through the view are its own; closing it releases them and leaves the device open.
     *
     * @throws IllegalArgumentException when the loaded bitstream has no kernel for the job's activation mode
     */
    public XrtAccelerator forJob(EmulatorConfig config) {
        checkOpen();
        String m = config.activations().id();
        if (bitstream.kernels().stream().noneMatch(k -> k.activations().contains(m)))
            throw new IllegalArgumentException("bitstream " + bitstream.name() + " on this device has no kernel for " + m + " activations");
        return new XrtAccelerator(owner != null ? owner : this, config);
    }

    /** Opens the device with the library found by {@link XrtLibraries}; see {@link #open(XrtLibrary, Path, Options, EmulatorConfig, Consumer)}. */
    public static XrtAccelerator open(Options o, EmulatorConfig config, Consumer<String> log) {
        Path path = XrtLibraries.find(o.library()).orElseThrow(() -> new IllegalStateException(XrtLibraries.notFound(o.library(), System.getenv(), System.getProperty("jna.library.path"))));
        return open(XrtLibraries.load(path), path, o, config, log);
    }

    /** Whether the library at {@code path} is the software device (it exports {@code qbridge_swdevice_run_cycles}). */
    public static boolean isSoftwareDevice(Path path) {
        try {
            NativeLibrary.getInstance(path.toAbsolutePath().toString()).getFunction("qbridge_swdevice_run_cycles");
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /**
     * Opens device {@code o.index()} of {@code lib}, picks the manifest's bitstream for the target
     * ({@code sw_emu} for the software device, else {@code hw}) and the activation mode, checks it and loads it.
     *
     * @throws IllegalStateException    when no bitstream of the manifest fits
     * @throws IllegalArgumentException when the bitstream file disagrees with its manifest entry or is malformed
     * @throws XrtException             when an XRT call fails (no device, load refused, kernel missing)
     */
    public static XrtAccelerator open(XrtLibrary lib, Path libraryPath, Options o, EmulatorConfig config, Consumer<String> log) {
        boolean software = libraryPath != null && isSoftwareDevice(libraryPath);
        Function cycles = software ? NativeLibrary.getInstance(libraryPath.toAbsolutePath().toString()).getFunction("qbridge_swdevice_run_cycles") : null;
        String target = software ? "sw_emu" : "hw";
        BitstreamManifest manifest;
        try {
            manifest = BitstreamManifest.read(o.manifest());
        } catch (IOException e) {
            throw new IllegalStateException("bitstream manifest " + o.manifest() + " cannot be read: " + e.getMessage());
        }
        BitstreamManifest.Entry entry = chooseBitstream(manifest, target, config.activations());
        byte[] image;
        Axlf x;
        try {
            image = Axlf.readImage(entry.path());
        } catch (IOException e) {
            throw new IllegalStateException("bitstream " + entry.name() + " cannot be read at " + entry.path() + (software ? " (run make -C hls swdevice)" : "") + ": " + e.getMessage());
        }
        x = Axlf.parse(image, entry.path().toString());
        if (!x.modeMatches(target))
            throw new IllegalArgumentException("xclbin " + entry.path() + ": mode " + x.modeName() + " cannot run on " + (software ? "the software device (sw_emu)" : "a card (hw)"));
        BitstreamManifest.verify(entry, image, x);
        lib.xrtIniStringSet("Runtime.runtime_log", "console"); // XRT's reasons for a failed call go to stderr
        XrtDevice dev = XrtDevice.open(lib, o.index());
        try {
            dev.loadXclbin(image);
            byte[] loaded = dev.loadedUuid();
            if (!Arrays.equals(loaded, x.uuid()))
                throw new XrtException("xrtDeviceGetXclbinUUID(" + dev + ")", "the device reports " + XrtDevice.uuidString(loaded) + " after loading " + x.uuidString());
            XrtAccelerator a = new XrtAccelerator(lib, libraryPath, software, cycles, dev, entry, x, config, o.runTimeout());
            for (BitstreamManifest.Kernel k : entry.kernels()) {
                if (k.formats().isEmpty()) continue; // diagnostic kernels run no layers
                a.kernels.put(k.name(), dev.openKernel(x.uuid(), KernelSignature.TABLE.get(k.name())));
            }
            log.accept("XRT device " + o.index() + (software ? " (software device " + libraryPath + ")" : "") + ": loaded " + entry.name() + " (uuid " + x.uuidString()
                    + ", platform " + x.platform() + ")");
            return a;
        } catch (RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /** The first bitstream of the manifest for {@code target} whose kernels take activations in {@code mode}. */
    static BitstreamManifest.Entry chooseBitstream(BitstreamManifest m, String target, ActivationMode mode) {
        List<String> seen = new ArrayList<>();
        for (BitstreamManifest.Entry e : m.entries()) {
            seen.add(e.name() + " (" + e.target() + ")");
            if (!e.target().equals(target)) continue;
            for (BitstreamManifest.Kernel k : e.kernels()) if (k.activations().contains(mode.id())) return e;
        }
        throw new IllegalStateException("no bitstream in " + m.file() + " for target " + target + " with " + mode.id() + " activations (it lists " + seen + ")");
    }

    public BitstreamManifest.Entry bitstream() {
        return bitstream;
    }

    public Axlf xclbin() {
        return axlf;
    }

    /** The device the layers live on (tests). */
    XrtDevice device() {
        return device;
    }

    public boolean software() {
        return software;
    }

    @Override
    public DeviceInfo describe() {
        PerfConfig p = config.perf();
        List<String> formats = new ArrayList<>();
        for (BitstreamManifest.Kernel k : bitstream.kernels()) if (k.activations().contains(mode.id())) formats.addAll(k.formats());
        String name = "XRT " + (software ? "software device (" + libraryPath.getFileName() + ")" : "device " + device.index) + ", " + bitstream.name() + " uuid "
                + axlf.uuidString() + ", " + mode.id() + " activations";
        return new DeviceInfo(DeviceKind.XRT, name, p.arrayRows(), p.arrayCols(), p.clockMhz(), formats, p.memoryBytes(), p.offChipBytesPerSecond());
    }

    @Override
    public LayerHandle load(PackedTensor weights, float[] bias) {
        return load(null, weights, bias);
    }

    /**
     * {@inheritDoc} In the axbxp mode the layer runs on {@code qb_axbxp} with its configuration
     * {@code config.axbxp().configFor(layer)}, as on the emulator; a layer without one is refused before anything is
     * written to the device.
     */
    @Override
    public LayerHandle load(String layer, PackedTensor weights, float[] bias) {
        checkOpen();
        if (weights == null) throw new IllegalArgumentException("weights are null");
        String fid = weights.format().id();
        // Ax-BxP: the configuration and the weights' kind are the emulator's checks, made first so the errors read the same
        AxBxp.Config axbxp = null;
        if (mode == ActivationMode.AXBXP) {
            AxBxpPlan.checkWeights(weights.format());
            axbxp = config.axbxp().configFor(layer);
        }
        BitstreamManifest.Kernel mk = bitstream.kernel(fid, mode.id());
        if (mk == null)
            throw new IllegalArgumentException("format " + fid + " with " + mode.id() + " activations is not in bitstream " + bitstream.name() + " (it takes " + bitstream.formats() + ")");
        KernelSignature.Binding b = axbxp != null ? KernelSignature.bind(weights.format(), axbxp) : KernelSignature.bind(weights.format());
        if (!b.kernel().name().equals(mk.name()))
            throw new IllegalArgumentException("format " + fid + " runs on kernel " + b.kernel().name() + ", bitstream " + bitstream.name() + " lists it under " + mk.name());
        int n = weights.n(), k = weights.k();
        if (bias != null && bias.length != n) throw new IllegalArgumentException("bias has " + bias.length + " values, the weights have " + n + " outputs");
        if (n > 65536 || k > 4096 || (k + b.block() - 1) / b.block() > 512)
            throw new IllegalArgumentException("layer " + n + "x" + k + " in " + fid + " exceeds the kernel's buffers (n <= 65536, k <= 4096, at most 512 blocks of " + b.block() + " per row)");
        // the decode refuses codes the kernel cannot take and profiles the layer for the model, as the emulator's load does
        DecodedWeights d;
        LoBcqEncoder encoder = null;
        if (weights.format() instanceof LoBcqFormat lf) {
            // qb_lobcq walks whole block arrays; the format's partial last array (docs/formats.md §8.1) has no kernel path yet
            if (k % lf.arrayScalars() != 0)
                throw new IllegalArgumentException("layer " + n + "x" + k + " in " + fid + ": qb_lobcq takes K a multiple of the block array (" + lf.arrayScalars()
                        + "); a partial last array runs on the emulator only");
            LoBcqWeights lw = LoBcqWeights.decode(weights);
            d = lw.toDecoded();
            if (mode == ActivationMode.LOBCQ) encoder = new LoBcqEncoder(lw.format(), lw.table());
        } else {
            d = WeightDecoder.decode(weights);
        }
        XrtKernel kern = kernels.get(mk.name());
        long id = ids.incrementAndGet();
        byte[] wb = HlsVectors.kernelWeights(weights); // the packed image (LO-BCQ: with its codebook table in front)
        XrtBuffer w = null, bb = null;
        lock.lock();
        try {
            checkOpen(); // again under the lock: a close (of this view or its owner) may have run since the check above
            w = device.allocate("weights of layer " + id, wb.length, kern.groupId(KernelSignature.WEIGHTS));
            w.write(wb, wb.length, 0);
            w.syncToDevice(wb.length, 0);
            byte[] bias4 = new byte[Math.max(4, 4 * n)];
            if (bias != null) ByteBuffer.wrap(bias4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(bias);
            bb = device.allocate("bias of layer " + id, bias4.length, kern.groupId(KernelSignature.BIAS));
            bb.write(bias4, bias4.length, 0);
            bb.syncToDevice(bias4.length, 0);
            LayerHandle h = new LayerHandle(id, weights.format(), n, k, wb.length);
            layers.put(id, new Resident(h, b, kern, w, bb, bias != null, d.profile(weights.bytes().length), encoder, axbxp == null ? null : AxBxpCost.pe(axbxp, config.perf())));
            return h;
        } catch (RuntimeException e) {
            if (w != null) w.close();
            if (bb != null) bb.close();
            throw e;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public RunResult run(LayerHandle handle, float[] x, int rows, float[] y) {
        checkOpen();
        Resident r = resident(handle);
        int n = handle.n(), k = handle.k();
        if (rows < 0 || rows > 65536) throw new IllegalArgumentException("rows must be in 0..65536, got " + rows);
        if (x.length < (long) rows * k) throw new IllegalArgumentException("x holds " + x.length + " values, " + rows + " rows of " + k + " need " + (long) rows * k);
        if (y.length < (long) rows * n) throw new IllegalArgumentException("y holds " + y.length + " values, " + rows + " rows of " + n + " need " + (long) rows * n);
        PerformanceModel.Estimate e = model.estimate(r.profile(), rows, r.pe());
        if (rows == 0) return new RunResult(0, 0, 0, 0, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs(), new RunResult.Measured(0, 0, 0, 0));
        long t0 = System.nanoTime();
        KernelInputs in = r.encoder() != null ? LoBcqBuffers.activations(r.encoder(), x, k, rows) : KernelInputs.quantize(mode, x, k, rows);
        long t1 = System.nanoTime();
        int outBytes = rows * n * 4;
        byte[] out = new byte[outBytes];
        long h2d, dev, d2h, cycles = -1;
        lock.lock();
        try {
            checkOpen();
            Scratch s = scratch(r.kernel(), in.codes().length, in.scales().length, outBytes);
            s.codes.write(in.codes(), in.codes().length, 0);
            s.codes.syncToDevice(in.codes().length, 0);
            s.scales.write(in.scales(), in.scales().length, 0);
            s.scales.syncToDevice(in.scales().length, 0);
            long t2 = System.nanoTime();
            h2d = t2 - t1;
            try (XrtRun run = r.kernel().openRun()) {
                run.set(KernelSignature.WEIGHTS, r.weights()).set(KernelSignature.ACT_CODES, s.codes).set(KernelSignature.ACT_SCALES, s.scales)
                        .set(KernelSignature.BIAS, r.bias()).set(KernelSignature.OUT, s.out)
                        .set(KernelSignature.N, n).set(KernelSignature.K, k).set(KernelSignature.TOKENS, rows)
                        .set(KernelSignature.ACT_MODE, HlsVectors.actModeArg(mode)).set(KernelSignature.HAS_BIAS, r.hasBias() ? 1 : 0);
                int[] fa = r.binding().formatArgs();
                for (int i = 0; i < fa.length; i++) run.set(KernelSignature.FIRST_FORMAT_ARG + i, fa[i]);
                long ts = System.nanoTime();
                run.start();
                run.waitFor(runTimeout);
                dev = System.nanoTime() - ts;
                if (cycleCounter != null) cycles = cycleCounter.invokeLong(new Object[] {run.live("qbridge_swdevice_run_cycles")});
            }
            long t3 = System.nanoTime();
            s.out.syncFromDevice(outBytes, 0);
            s.out.read(out, outBytes, 0);
            d2h = System.nanoTime() - t3;
        } finally {
            lock.unlock();
        }
        long t4 = System.nanoTime();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(y, 0, rows * n);
        long t5 = System.nanoTime();
        return new RunResult(t1 - t0, h2d + d2h, dev, t5 - t4, e.cycles(), e.seconds(), e.dramBytes(), e.energyJoules(), e.bound(), e.macs(),
                new RunResult.Measured(h2d, d2h, dev, cycles));
    }

    private Scratch scratch(XrtKernel kern, int codes, int scales, int out) {
        Scratch s = scratch.computeIfAbsent(kern.signature().name(), x -> new Scratch());
        s.codes = grow(s.codes, "activation codes", codes, kern.groupId(KernelSignature.ACT_CODES));
        s.scales = grow(s.scales, "activation scales", scales, kern.groupId(KernelSignature.ACT_SCALES));
        s.out = grow(s.out, "outputs", out, kern.groupId(KernelSignature.OUT));
        return s;
    }

    private XrtBuffer grow(XrtBuffer b, String name, long need, int group) {
        if (b != null && b.size() >= need) return b;
        if (b != null) b.close();
        return device.allocate(name, Math.max(need, b == null ? 4096 : b.size() * 2), group);
    }

    @Override
    public void unload(LayerHandle handle) {
        Resident r = handle == null ? null : layers.get(handle.id());
        if (r == null || !r.handle().equals(handle)) return;
        lock.lock();
        try {
            layers.remove(handle.id());
            r.weights().close();
            r.bias().close();
        } finally {
            lock.unlock();
        }
    }

    /** Releases every layer, the kernels and the device (runs, then buffers, then kernels, then the device). */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            if (owner != null) {
                // a job's view: its layers' buffers go, the device stays with its owner
                for (Resident r : layers.values()) {
                    r.weights().close();
                    r.bias().close();
                }
                layers.clear();
                return;
            }
            layers.clear();
            device.close();
        } finally {
            lock.unlock();
        }
    }

    private Resident resident(LayerHandle h) {
        Resident r = h == null ? null : layers.get(h.id());
        if (r == null || !r.handle().equals(h)) throw new IllegalArgumentException("layer handle " + h + " is not loaded on this device");
        return r;
    }

    private void checkOpen() {
        if (closed || (owner != null && owner.closed)) throw new IllegalStateException("the XRT device has been closed");
    }

    @Override
    public String toString() {
        return describe().name();
    }
}
