package io.qbridge.runtime;

import io.qbridge.emulator.EmulatorConfig;
import io.qbridge.xrt.Axlf;
import io.qbridge.xrt.BitstreamManifest;
import io.qbridge.xrt.XrtAccelerator;
import io.qbridge.xrt.XrtDevice;
import io.qbridge.xrt.XrtException;
import io.qbridge.xrt.XrtLibraries;
import io.qbridge.xrt.XrtLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Every device this host could run on, for {@code qbridge devices}: the XRT devices the library opens (with the
 * xclbin loaded on each), the manifest's bitstreams and whether each file matches its entry, and the emulator;
 * with the reason anything was skipped.
 *
 * @param library    the XRT library used, or null
 * @param xrt        the XRT devices that opened
 * @param bitstreams the manifest's entries, checked
 * @param emulator   the emulator's formats
 * @param skipped    why a piece is absent (no library, no device, unreadable manifest ...)
 */
public record DeviceReport(String library, List<XrtDeviceEntry> xrt, List<BitstreamEntry> bitstreams, List<String> emulator, List<String> skipped) {
    /** An XRT device: index, "software" or the card's PCI address, and the UUID of the xclbin loaded now ("none"). */
    public record XrtDeviceEntry(int index, String location, String loadedUuid) {}

    /** A manifest entry: whether its file is there and agrees with the entry ({@code matches}), else why not. */
    public record BitstreamEntry(String file, String target, boolean software, String platform, String uuid, List<String> formats, boolean matches, String problem) {}

    /** The most devices probed by index; XRT numbers them from 0 without gaps. */
    static final int MAX_DEVICES = 16;

    public static DeviceReport collect(String explicitLibrary, Path manifest) {
        List<String> skipped = new ArrayList<>();
        List<XrtDeviceEntry> devices = new ArrayList<>();
        Optional<Path> lib = XrtLibraries.find(explicitLibrary);
        String libName = null;
        if (lib.isEmpty()) skipped.add("XRT devices: " + XrtLibraries.notFound(explicitLibrary, System.getenv(), System.getProperty("jna.library.path")));
        else {
            libName = lib.get().toString();
            try {
                XrtLibrary x = XrtLibraries.load(lib.get());
                boolean software = XrtAccelerator.isSoftwareDevice(lib.get());
                List<String> bdfs = software ? List.of() : cards();
                for (int i = 0; i < MAX_DEVICES; i++) {
                    XrtDevice d;
                    try {
                        d = XrtDevice.open(x, i);
                    } catch (XrtException e) {
                        if (i == 0) skipped.add("XRT devices: " + e.getMessage());
                        break;
                    }
                    try (d) {
                        byte[] u = d.loadedUuid();
                        boolean none = true;
                        for (byte b : u) none &= b == 0;
                        devices.add(new XrtDeviceEntry(i, software ? "software" : i < bdfs.size() ? bdfs.get(i) : "unknown", none ? "none" : XrtDevice.uuidString(u)));
                    }
                }
            } catch (XrtException e) {
                skipped.add("XRT devices: " + e.getMessage());
            }
        }
        List<BitstreamEntry> bits = new ArrayList<>();
        try {
            for (BitstreamManifest.Entry e : BitstreamManifest.read(manifest).entries()) {
                String problem = null;
                try {
                    byte[] image = Axlf.readImage(e.path());
                    BitstreamManifest.verify(e, image, Axlf.parse(image, e.path().toString()));
                } catch (java.nio.file.NoSuchFileException ex) {
                    problem = "file " + e.path() + " is absent" + (e.software() ? " (make -C hls swdevice builds it)" : "");
                } catch (IOException | RuntimeException ex) {
                    problem = ex.getMessage();
                }
                bits.add(new BitstreamEntry(e.name(), e.target(), e.software(), e.platform(), e.uuid(), e.formats(), problem == null, problem));
            }
        } catch (IOException | RuntimeException e) {
            skipped.add("bitstreams: manifest " + manifest + " cannot be read (" + e.getMessage() + ")");
        }
        return new DeviceReport(libName, devices, bits, EmulatorConfig.DEFAULT_FORMATS, skipped);
    }

    private static List<String> cards() {
        Path dir = Path.of("/sys/bus/pci/drivers/xocl");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9a-f]{4}:.*")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
