package io.qbridge.xrt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure-Java xclbin reader and the manifest check: every malformed or mismatched file is one line naming the problem. */
class AxlfTest {
    static byte[] good;
    static BitstreamManifest.Entry entry;

    @BeforeAll
    static void build() throws Exception {
        good = Files.readAllBytes(SwDevice.xclbin());
        entry = BitstreamManifest.read(SwDevice.manifest()).byName("qbridge_swdevice.xclbin");
    }

    static String oneLine(Exception e) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    static IllegalArgumentException refused(byte[] image) {
        return assertThrows(IllegalArgumentException.class, () -> BitstreamManifest.verify(entry, image, Axlf.parse(image, "t.xclbin")));
    }

    @Test
    void theGoodFileDecodes() {
        Axlf x = Axlf.parse(good, "swdevice");
        assertEquals(good.length, x.length());
        assertEquals(List.of("qb_microscopiq", "qb_fineq", "qb_mx", "qb_intgroup", "qb_lobcq", "qb_axbxp", "qb_verify"), x.kernelNames());
        assertEquals(List.of("HBM[0]", "HBM[1]", "HBM[2]", "HBM[3]", "HBM[4]"), x.banks());
        assertEquals(entry.uuid(), x.uuidString());
        assertTrue(x.modeMatches("sw_emu") && !x.modeMatches("hw") && !x.modeMatches("hw_emu"));
    }

    @Test
    void corruptAndTruncatedFilesAreRefusedBeforeAnythingIsAllocated(@TempDir Path tmp) throws Exception {
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.parse(magic, "t"))).endsWith("not an xclbin: the first 8 bytes are not \"xclbin2\\0\""));
        Path cut = tmp.resolve("cut.xclbin");
        Files.write(cut, Arrays.copyOf(good, good.length - 100));
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.read(cut))).contains("truncated: the header says " + good.length + " bytes, the file has " + (good.length - 100)));
        Path tiny = tmp.resolve("tiny.xclbin");
        Files.write(tiny, Arrays.copyOf(good, 100));
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.read(tiny))).contains("truncated: 100 bytes"));
        // a section pointing past the end, and a section count that would need more headers than the file holds
        byte[] outside = good.clone();
        ByteBuffer.wrap(outside).order(ByteOrder.LITTLE_ENDIAN).putLong(456 + 32, 1L << 40);
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.parse(outside, "t"))).contains("ends outside the " + good.length + "-byte file"));
        byte[] many = good.clone();
        ByteBuffer.wrap(many).order(ByteOrder.LITTLE_ENDIAN).putInt(448, 0xFFFF);
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.parse(many, "t"))).contains("65535 section headers need"));
        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(448, -1);
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.parse(huge, "t"))).contains("section count 4294967295 is outside"));
        // an IP_LAYOUT count larger than its section
        Axlf x = Axlf.parse(good, "t");
        Axlf.Section ip = x.sections().stream().filter(s -> s.kind() == Axlf.IP_LAYOUT).findFirst().orElseThrow();
        byte[] ipc = good.clone();
        ByteBuffer.wrap(ipc).order(ByteOrder.LITTLE_ENDIAN).putInt((int) ip.offset(), 1 << 28);
        assertTrue(oneLine(assertThrows(IllegalArgumentException.class, () -> Axlf.parse(ipc, "t"))).contains("IP_LAYOUT says 268435456 entries"));
    }

    @Test
    void aFileThatDisagreesWithItsManifestEntryNamesBothSides() {
        byte[] platform = good.clone();
        platform[352] = 'Q';
        assertEquals("xclbin " + entry.path() + ": platform 'Qbridge_swdevice_x86_64_1' differs from the manifest's 'qbridge_swdevice_x86_64_1'", oneLine(refused(platform)));
        byte[] uuid = good.clone();
        uuid[420] ^= 0x10;
        assertTrue(oneLine(refused(uuid)).contains("differs from the manifest's " + entry.uuid()));
        byte[] mode = good.clone();
        mode[332] = 0;
        assertEquals("xclbin " + entry.path() + ": mode hw (flat) is not for target sw_emu as the manifest says", oneLine(refused(mode)));
        byte[] other = good.clone();
        other[12] = 0; // a reserved byte: only the digest notices
        assertTrue(oneLine(refused(other)).contains("sha256 "));
        // a kernel missing from IP_LAYOUT: rename qb_fineq's entry
        Axlf x = Axlf.parse(good, "t");
        Axlf.Section ip = x.sections().stream().filter(s -> s.kind() == Axlf.IP_LAYOUT).findFirst().orElseThrow();
        byte[] missing = good.clone();
        missing[(int) ip.offset() + 8 + 80 + 16 + 3] = 'X'; // "qb_fineq" -> "qb_Xineq"
        assertTrue(oneLine(refused(missing)).contains("kernel qb_fineq is not in IP_LAYOUT"), refused(missing).getMessage());
    }

    @Test
    void metadataThatDisagreesWithTheHostsArgumentTableIsRefused() {
        Axlf x = Axlf.parse(good, "t");
        List<Axlf.MetaArg> args = new java.util.ArrayList<>(x.kernels().get("qb_mx"));
        Axlf.MetaArg n = args.get(5);
        args.set(5, new Axlf.MetaArg(n.name(), n.id(), 0, 8, "uint64_t"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelSignature.MX.checkAgainst(args, "t"));
        assertEquals("xclbin t: kernel qb_mx argument 5 is 'n' (uint64_t, SCALAR64) in EMBEDDED_METADATA, the host's table says 'n' (SCALAR32)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KernelSignature.MX.checkAgainst(args.subList(0, 10), "t"));
        assertThrows(IllegalArgumentException.class, () -> KernelSignature.MX.checkAgainst(null, "t"));
    }
}
