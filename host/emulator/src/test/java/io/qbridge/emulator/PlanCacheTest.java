package io.qbridge.emulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qbridge.device.LayerHandle;
import io.qbridge.device.PerfConfig;
import io.qbridge.format.PackedTensor;
import io.qbridge.model.bert.EncoderModel;
import io.qbridge.pipeline.EncoderQuantizer;
import io.qbridge.pipeline.QuantRecipe;
import io.qbridge.pipeline.QuantizedLayer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plan cache on real all-MiniLM-L6-v2 layers (RTN in every INT16 format): a plan read back equals the plan the
 * layer's bytes give, array for array, and the device computes the same bits from it; a damaged, truncated or
 * misnamed entry is never used (deleted, then planned and written again).
 */
class PlanCacheTest {
    private static final List<String> LAYERS = List.of("encoder.layer.0.attention.self.query", "encoder.layer.5.output.dense");
    private static List<PackedTensor> layers;
    /** Layers in the INT16 mode (the ones the cache keeps): the first two. */
    private static PackedTensor a, b;

    @BeforeAll
    static void quantize() {
        EncoderModel fp32 = EncoderModel.load(EncoderModel.Builtin.MINILM);
        layers = new ArrayList<>();
        for (String id : EmulatorExactnessTest.FORMATS) {
            EncoderQuantizer.Result r = EncoderQuantizer.quantize(fp32, QuantRecipe.parse(id + "@rtn"), List.of(), null);
            for (QuantizedLayer l : r.layers())
                if (LAYERS.stream().anyMatch(p -> l.name().startsWith(p))) layers.add(l.packed());
        }
        List<PackedTensor> int16 = layers.stream().filter(p -> new Datapath(WeightDecoder.decode(p)).mode() == Datapath.Mode.INT16).toList();
        a = int16.get(0);
        b = int16.get(1);
    }

    private static EmulatorAccelerator device(PlanCache cache) {
        return new EmulatorAccelerator(EmulatorConfig.anyFormat(PerfConfig.u55c()).withPlans(cache));
    }

    @Test
    void aPlanReadBackIsThePlanAndComputesTheSameBits(@TempDir Path dir) {
        PlanCache cache = new PlanCache(dir);
        int int16 = 0;
        for (PackedTensor p : layers) {
            String what = p.format().id() + " " + p.n() + "x" + p.k();
            Datapath fresh = new Datapath(WeightDecoder.decode(p));
            assertNull(cache.read(PlanCache.key(p), p), what + ": nothing kept yet");
            if (fresh.mode() != Datapath.Mode.INT16) continue;
            int16++;
            assertTrue(cache.write(PlanCache.key(p), fresh.weights(), fresh.plan()), what);
            PlanCache.Entry e = cache.read(PlanCache.key(p), p);
            assertNotNull(e, what);
            assertSamePlan(fresh.plan(), e.plan(), what);
            DecodedWeights d = fresh.weights(), h = e.header();
            assertEquals(List.of(d.format(), d.n(), d.k(), d.blockSize(), d.maxBlockL1(), d.outliers(), d.pulses()),
                    List.of(h.format(), h.n(), h.k(), h.blockSize(), h.maxBlockL1(), h.outliers(), h.pulses()), what);
            assertArrayEquals(d.scale(), h.scale(), what);
            assertArrayEquals(d.zero(), h.zero(), what);
            assertNull(h.values(), what + ": the integers are not kept");

            int rows = 13; // two 6-token panels and a padded one
            float[] x = EmulatorExactnessTest.activations(rows, p.k(), p.n());
            float[] bias = EmulatorExactnessTest.activations(1, p.n(), 7);
            try (EmulatorAccelerator plain = device(null); EmulatorAccelerator cached = device(cache)) {
                float[] want = new float[rows * p.n()], got = new float[rows * p.n()];
                plain.run(plain.load(p, bias), x, rows, want);
                LayerHandle hc = cached.load(p, bias);
                cached.run(hc, x, rows, got);
                assertArrayEquals(want, got, what);
                // what still needs the integers decodes them on demand
                assertArrayEquals(d.values(), cached.datapath(hc).weights().values(), what);
            }
        }
        assertTrue(int16 >= 10, "INT16 layers checked: " + int16);
        assertEquals(2 * int16, cache.hits(), "reads that found the plan (two per layer, one of them by the device)");
    }

    @Test
    void theDeviceWritesOnceAndReadsAfter(@TempDir Path dir) throws IOException {
        PlanCache first = new PlanCache(dir), second = new PlanCache(dir);
        PackedTensor p = a;
        try (EmulatorAccelerator a = device(first); EmulatorAccelerator b = device(second)) {
            a.load(p, null);
            b.load(p, null);
        }
        assertEquals(List.of(0, 1), List.of(first.hits(), first.writes()));
        assertEquals(List.of(1, 0), List.of(second.hits(), second.writes()));
        assertEquals(1, entries(dir).size());
    }

    @Test
    void aDamagedTruncatedOrMisnamedEntryIsNotUsed(@TempDir Path dir) throws IOException {
        PlanCache cache = new PlanCache(dir);
        PackedTensor p = a, other = b;
        Datapath fresh = new Datapath(WeightDecoder.decode(p));
        Path entry = dir.resolve(PlanCache.key(p) + ".plan");

        cache.write(PlanCache.key(p), fresh.weights(), fresh.plan());
        byte[] good = Files.readAllBytes(entry);
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 1;
        Files.write(entry, flipped);
        assertNull(cache.read(PlanCache.key(p), p), "one bit flipped");
        assertFalse(Files.exists(entry), "a bad entry is deleted");

        Files.write(entry, java.util.Arrays.copyOf(good, good.length - 100));
        assertNull(cache.read(PlanCache.key(p), p), "truncated");

        Files.write(dir.resolve(PlanCache.key(other) + ".plan"), good);
        assertNull(cache.read(PlanCache.key(other), other), "another layer's entry under this layer's name");

        Files.write(entry, good);
        assertNotNull(cache.read(PlanCache.key(p), p), "the entry as written");
        try (EmulatorAccelerator dev = device(cache)) {
            dev.load(p, null); // after a bad entry the device plans the layer and writes it again
        }
        assertArrayEquals(good, Files.readAllBytes(entry));
    }

    @Test
    void theKeyNamesTheBytesTheFormatAndTheShape() {
        PackedTensor p = a;
        byte[] changed = p.bytes().clone();
        changed[changed.length - 1] ^= 1;
        assertEquals(PlanCache.key(p), PlanCache.key(new PackedTensor(p.format(), p.n(), p.k(), p.bytes().clone())));
        assertNotEquals(PlanCache.key(p), PlanCache.key(new PackedTensor(p.format(), p.n(), p.k(), changed)));
        PackedTensor q = layers.stream().filter(t -> !t.format().equals(p.format()) && t.bytes().length == p.bytes().length).findFirst().orElse(null);
        if (q != null) assertNotEquals(PlanCache.key(p), PlanCache.key(new PackedTensor(q.format(), p.n(), p.k(), p.bytes())));
    }

    @Test
    void anUnwritableFolderOnlyCostsThePlanning(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("not-a-folder");
        Files.writeString(file, "x");
        PlanCache cache = new PlanCache(file.resolve("plans"));
        PackedTensor p = a;
        try (EmulatorAccelerator dev = device(cache)) {
            LayerHandle h = dev.load(p, null);
            float[] y = new float[6 * p.n()];
            dev.run(h, EmulatorExactnessTest.activations(6, p.k(), 3), 6, y);
        }
        assertEquals(List.of(0, 0), List.of(cache.hits(), cache.writes()));
    }

    @Test
    void theLeastRecentlyUsedEntriesGoWhenTheFolderIsFull(@TempDir Path dir) throws IOException {
        Datapath da = new Datapath(WeightDecoder.decode(a)), db = new Datapath(WeightDecoder.decode(b));
        Path ea = dir.resolve(PlanCache.key(a) + ".plan"), eb = dir.resolve(PlanCache.key(b) + ".plan");
        PlanCache roomy = new PlanCache(dir);
        roomy.write(PlanCache.key(a), da.weights(), da.plan());
        roomy.write(PlanCache.key(b), db.weights(), db.plan());
        assertNotNull(roomy.read(PlanCache.key(a), a));
        Files.setLastModifiedTime(ea, java.nio.file.attribute.FileTime.fromMillis(1_000));
        new PlanCache(dir, Files.size(ea) + Files.size(eb) - 1).write(PlanCache.key(b), db.weights(), db.plan());
        assertEquals(List.of(eb), entries(dir), "the least recently used entry went");
    }

    private static void assertSamePlan(Int16Plan want, Int16Plan got, String what) {
        assertArrayEquals(want.w(), got.w(), what);
        assertEquals(List.of(want.chunk(), want.unit(), want.group()), List.of(got.chunk(), got.unit(), got.group()), what);
        assertArrayEquals(want.shifts(), got.shifts(), what);
        assertArrayEquals(want.groupScale(), got.groupScale(), what);
        assertEquals(want.sparse() == null, got.sparse() == null, what);
        if (want.sparse() != null) {
            Int16Plan.Sparse a = want.sparse(), b = got.sparse();
            assertEquals(a.slabs(), b.slabs(), what);
            assertArrayEquals(a.start(), b.start(), what);
            assertArrayEquals(a.col(), b.col(), what);
            assertArrayEquals(a.n(), b.n(), what);
            assertArrayEquals(a.value(), b.value(), what);
        }
    }

    private static List<Path> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.toString().endsWith(".plan")).sorted().toList();
        }
    }
}
