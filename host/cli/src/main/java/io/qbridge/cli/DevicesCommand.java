package io.qbridge.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qbridge.runtime.DeviceReport;
import io.qbridge.runtime.Devices;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qbridge devices}: the XRT devices, the manifest's bitstreams and the emulator, with why anything is absent. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the XRT devices (card or software device, with the loaded xclbin's UUID), the bitstreams of fpga-bitstreams/manifest.json and whether each file matches its entry, and the emulator.")
final class DevicesCommand implements Callable<Integer> {
    @Option(names = "--xrt-library", paramLabel = "PATH", description = "The XRT C library (default: the lookup order of --device xrt).")
    String xrtLibrary;

    @Option(names = "--json", description = "Print JSON for machines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        DeviceReport r = DeviceReport.collect(xrtLibrary, Devices.DEFAULT_BITSTREAM_DIR.resolve("manifest.json"));
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
            return 0;
        }
        System.out.println("XRT devices" + (r.library() == null ? "" : " (" + r.library() + ")"));
        if (r.xrt().isEmpty()) System.out.println("  none");
        for (DeviceReport.XrtDeviceEntry d : r.xrt()) System.out.printf("  %d  %-14s loaded xclbin %s%n", d.index(), d.location(), d.loadedUuid());
        System.out.println("bitstreams (manifest)");
        if (r.bitstreams().isEmpty()) System.out.println("  none");
        for (DeviceReport.BitstreamEntry b : r.bitstreams())
            System.out.printf("  %-28s %-7s %-28s uuid %s  %s%n", b.file(), b.target() + (b.software() ? "*" : ""), b.platform(), b.uuid(),
                    b.matches() ? "matches" : "does not match: " + b.problem());
        System.out.println("emulator");
        System.out.println("  always available: " + String.join(", ", r.emulator()));
        for (String s : r.skipped()) System.out.println("skipped: " + s);
        if (r.bitstreams().stream().anyMatch(DeviceReport.BitstreamEntry::software)) System.out.println("(* software: the software device's xclbin, no card)");
        return 0;
    }
}
