package io.qbridge.xrt;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * An xclbin file (XRT's {@code struct axlf}, {@code xrt/detail/xclbin.h}) read and checked in pure Java before
 * anything is handed to XRT: magic {@code "xclbin2\0"}, the header's length against the file size, every
 * section inside the file, and the sections the host needs decoded (IP_LAYOUT kernel names, MEM_TOPOLOGY banks,
 * CONNECTIVITY, the kernels' arguments from EMBEDDED_METADATA). Every size field is checked against the bytes
 * that are really there before anything is allocated from it; a bad file is one {@link IllegalArgumentException}
 * line naming the file and the problem. Little-endian, fixed offsets (docs/xrt.md §2 lists them).
 *
 * @param length   the header's total length (= the file size)
 * @param mode     {@code m_mode}: 0 flat, 1 PR, 2/3 tandem, 4 hw_emu, 5 sw_emu, 6 hw_emu PR
 * @param platform {@code m_platformVBNV}, the platform (shell) name
 * @param uuid     the xclbin UUID (16 bytes)
 * @param sections section headers in file order
 * @param ipNames  IP_LAYOUT entries of type IP_KERNEL, e.g. {@code "mykernel:mykernel_1"}
 * @param banks    MEM_TOPOLOGY entries' tags, by memory index
 * @param kernels  kernel name to its arguments as EMBEDDED_METADATA declares them (in argument order)
 * @param connectivity for each IP_LAYOUT index, argument index to MEM_TOPOLOGY index
 */
public record Axlf(long length, int mode, String platform, byte[] uuid, List<Section> sections, List<String> ipNames, List<String> banks,
                   Map<String, List<MetaArg>> kernels, Map<Integer, Map<Integer, Integer>> connectivity) {
    public static final byte[] MAGIC = "xclbin2\0".getBytes(StandardCharsets.US_ASCII);
    public static final int HEADER_BYTES = 456, SECTION_HEADER_BYTES = 40, MAX_SECTIONS = 0x10000;
    public static final int MODE_FLAT = 0, MODE_PR = 1, MODE_HW_EMU = 4, MODE_SW_EMU = 5, MODE_HW_EMU_PR = 6;
    public static final int EMBEDDED_METADATA = 2, MEM_TOPOLOGY = 6, CONNECTIVITY = 7, IP_LAYOUT = 8;
    public static final int IP_KERNEL = 1, IP_DATA_BYTES = 80, MEM_DATA_BYTES = 40, CONNECTION_BYTES = 12;
    /** The largest xclbin the host reads (XRT's own in-memory API takes an {@code int} size). */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    /** One section header. */
    public record Section(int kind, String name, long offset, long size) {}

    /** One kernel argument of EMBEDDED_METADATA: name, id (argument index), addressQualifier, size in bytes, C type. */
    public record MetaArg(String name, int id, int addressQualifier, long size, String type) {
        public ArgKind kind() {
            return ArgKind.fromMetadata(addressQualifier, size);
        }
    }

    public Axlf {
        uuid = uuid.clone();
        sections = List.copyOf(sections);
        ipNames = List.copyOf(ipNames);
        banks = List.copyOf(banks);
        kernels = Map.copyOf(kernels);
        connectivity = Map.copyOf(connectivity);
    }

    @Override
    public byte[] uuid() {
        return uuid.clone();
    }

    public String uuidString() {
        return XrtDevice.uuidString(uuid);
    }

    /** The kernel names of IP_LAYOUT without their instance suffix ({@code "k:k_1"} is {@code "k"}), in order, once each. */
    public List<String> kernelNames() {
        List<String> out = new ArrayList<>();
        for (String n : ipNames) {
            String k = n.contains(":") ? n.substring(0, n.indexOf(':')) : n;
            if (!out.contains(k)) out.add(k);
        }
        return out;
    }

    public String modeName() {
        return modeName(mode);
    }

    public static String modeName(int mode) {
        return switch (mode) {
            case 0 -> "hw (flat)";
            case 1 -> "hw (partial reconfiguration)";
            case 2, 3 -> "hw (tandem)";
            case MODE_HW_EMU, MODE_HW_EMU_PR -> "hw_emu";
            case MODE_SW_EMU -> "sw_emu";
            default -> "unknown mode " + mode;
        };
    }

    /** Whether this xclbin's mode is for {@code target}: {@code hw}, {@code hw_emu} or {@code sw_emu}. */
    public boolean modeMatches(String target) {
        return switch (target) {
            case "hw" -> mode >= 0 && mode <= 3;
            case "hw_emu" -> mode == MODE_HW_EMU || mode == MODE_HW_EMU_PR;
            case "sw_emu" -> mode == MODE_SW_EMU;
            default -> false;
        };
    }

    /** Reads and checks a file; the whole file is read only after its size is known to be sane. */
    public static Axlf read(Path file) throws IOException {
        return parse(readImage(file), file.toString());
    }

    /** The bytes of an xclbin file, read only after the header's magic and length agree with the file's size. */
    public static byte[] readImage(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) throw bad(file.toString(), "truncated: " + size + " bytes, an xclbin header alone is " + HEADER_BYTES);
            if (size > MAX_BYTES) throw bad(file.toString(), size + " bytes is larger than the " + MAX_BYTES + " an xclbin may have");
            ByteBuffer head = ByteBuffer.allocate(HEADER_BYTES);
            while (head.hasRemaining() && ch.read(head) > 0) { /* fill */ }
            checkHeader(file.toString(), head.array(), size);
        }
        return Files.readAllBytes(file);
    }

    private static void checkHeader(String src, byte[] b, long fileSize) {
        if (!Arrays.equals(Arrays.copyOf(b, 8), MAGIC)) throw bad(src, "not an xclbin: the first 8 bytes are not \"xclbin2\\0\"");
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long len = h.getLong(304);
        if (len != fileSize)
            throw bad(src, len > fileSize ? "truncated: the header says " + len + " bytes, the file has " + fileSize : "the header says " + len + " bytes, the file has " + fileSize);
    }

    /** Checks and decodes an in-memory image. */
    public static Axlf parse(byte[] image, String source) {
        if (image.length < HEADER_BYTES) throw bad(source, "truncated: " + image.length + " bytes, an xclbin header alone is " + HEADER_BYTES);
        checkHeader(source, image, image.length);
        ByteBuffer h = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int mode = Short.toUnsignedInt(h.getShort(332));
        String platform = cString(image, 352, 64);
        byte[] uuid = Arrays.copyOfRange(image, 416, 432);
        long count = Integer.toUnsignedLong(h.getInt(448));
        if (count == 0 || count > MAX_SECTIONS) throw bad(source, "section count " + count + " is outside 1.." + MAX_SECTIONS);
        // the first section header is inside the 456-byte header (struct axlf ends with m_sections[1])
        long headersEnd = 448 + 8 + SECTION_HEADER_BYTES * count;
        if (headersEnd > image.length) throw bad(source, "truncated: " + count + " section headers need " + headersEnd + " bytes, the file has " + image.length);
        List<Section> sections = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int o = 448 + 8 + SECTION_HEADER_BYTES * i;
            int kind = h.getInt(o);
            String name = cString(image, o + 4, 16);
            long off = h.getLong(o + 24), sz = h.getLong(o + 32);
            if (off < 0 || sz < 0 || off > image.length || sz > image.length - off)
                throw bad(source, "section " + i + " ('" + name + "', kind " + kind + ") at offset " + off + " with " + sz + " bytes ends outside the " + image.length + "-byte file");
            sections.add(new Section(kind, name, off, sz));
        }
        List<String> ips = new ArrayList<>();
        List<String> banks = new ArrayList<>();
        Map<Integer, Map<Integer, Integer>> conn = new LinkedHashMap<>();
        Map<String, List<MetaArg>> kernels = new LinkedHashMap<>();
        int ipCount = 0;
        for (Section s : sections) {
            ByteBuffer sb = ByteBuffer.wrap(image, (int) s.offset(), (int) s.size()).slice().order(ByteOrder.LITTLE_ENDIAN);
            switch (s.kind()) {
                case IP_LAYOUT -> {
                    int n = counted(source, "IP_LAYOUT", sb, 8, IP_DATA_BYTES);
                    ipCount += n;
                    for (int i = 0; i < n; i++) {
                        int o = 8 + IP_DATA_BYTES * i;
                        if (sb.getInt(o) == IP_KERNEL) ips.add(cString(image, (int) s.offset() + o + 16, 64));
                    }
                }
                case MEM_TOPOLOGY -> {
                    int n = counted(source, "MEM_TOPOLOGY", sb, 8, MEM_DATA_BYTES);
                    for (int i = 0; i < n; i++) banks.add(cString(image, (int) s.offset() + 8 + MEM_DATA_BYTES * i + 24, 16));
                }
                case CONNECTIVITY -> {
                    int n = counted(source, "CONNECTIVITY", sb, 4, CONNECTION_BYTES);
                    for (int i = 0; i < n; i++) {
                        int o = 4 + CONNECTION_BYTES * i;
                        conn.computeIfAbsent(sb.getInt(o + 4), x -> new LinkedHashMap<>()).put(sb.getInt(o), sb.getInt(o + 8));
                    }
                }
                case EMBEDDED_METADATA -> kernels.putAll(metadata(source, image, (int) s.offset(), (int) s.size()));
                default -> { }
            }
        }
        for (var e : conn.entrySet()) {
            if (e.getKey() < 0 || e.getKey() >= ipCount)
                throw bad(source, "CONNECTIVITY names IP_LAYOUT entry " + e.getKey() + ", which does not exist");
            for (int mem : e.getValue().values())
                if (mem < 0 || mem >= banks.size()) throw bad(source, "CONNECTIVITY names memory " + mem + ", MEM_TOPOLOGY has " + banks.size() + " banks");
        }
        return new Axlf(image.length, mode, platform, uuid, sections, ips, banks, kernels, conn);
    }

    /** A section that starts with an int32 count of fixed-size entries at {@code first}: the count, checked against the bytes there. */
    private static int counted(String src, String what, ByteBuffer sb, int first, int entryBytes) {
        if (sb.capacity() < 4) throw bad(src, what + " section is " + sb.capacity() + " bytes, too short for its count");
        int n = sb.getInt(0);
        if (n < 0 || (long) first + (long) n * entryBytes > sb.capacity())
            throw bad(src, what + " says " + n + " entries of " + entryBytes + " bytes, the section has " + sb.capacity());
        return n;
    }

    private static Map<String, List<MetaArg>> metadata(String src, byte[] image, int off, int size) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            int end = off + size;
            while (end > off && image[end - 1] == 0) end--; // the section is NUL-terminated
            Document d = f.newDocumentBuilder().parse(new ByteArrayInputStream(image, off, end - off));
            Map<String, List<MetaArg>> out = new LinkedHashMap<>();
            NodeList ks = d.getElementsByTagName("kernel");
            for (int i = 0; i < ks.getLength(); i++) {
                Element k = (Element) ks.item(i);
                List<MetaArg> args = new ArrayList<>();
                NodeList as = k.getElementsByTagName("arg");
                for (int j = 0; j < as.getLength(); j++) {
                    Element a = (Element) as.item(j);
                    args.add(new MetaArg(a.getAttribute("name"), (int) number(a.getAttribute("id")), (int) number(a.getAttribute("addressQualifier")),
                            number(a.getAttribute("size")), a.getAttribute("type")));
                }
                args.sort(java.util.Comparator.comparingInt(MetaArg::id));
                out.put(k.getAttribute("name"), List.copyOf(args));
            }
            return out;
        } catch (Exception e) {
            throw bad(src, "EMBEDDED_METADATA is not readable XML (" + e.getMessage() + ")");
        }
    }

    private static long number(String s) {
        s = s.trim();
        return s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
    }

    private static String cString(byte[] b, int off, int max) {
        int end = off;
        while (end < off + max && end < b.length && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.US_ASCII);
    }

    static IllegalArgumentException bad(String src, String what) {
        return new IllegalArgumentException("xclbin " + src + ": " + what);
    }
}
