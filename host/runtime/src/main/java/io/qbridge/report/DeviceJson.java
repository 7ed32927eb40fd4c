package io.qbridge.report;

import com.fasterxml.jackson.core.JsonGenerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.runtime.RunStats;
import java.io.IOException;

/** The {@code device}, {@code timing} and {@code energy} objects of the run and bench JSON documents. */
public final class DeviceJson {
    private DeviceJson() {}

    public static void writeDevice(JsonGenerator g, DeviceInfo info) throws IOException {
        g.writeObjectFieldStart("device");
        g.writeStringField("kind", info.kind().name().toLowerCase());
        g.writeStringField("name", info.name());
        g.writeNumberField("arrayRows", info.arrayRows());
        g.writeNumberField("arrayCols", info.arrayCols());
        g.writeNumberField("clockMhz", info.clockMhz());
        g.writeNumberField("offChipBytesPerSecond", info.offChipBytesPerSecond());
        g.writeEndObject();
    }

    public static void writeTotals(JsonGenerator g, RunStats.Totals t, long wallNanos, int sentences) throws IOException {
        g.writeObjectFieldStart("timing");
        g.writeNumberField("wallSeconds", wallNanos / 1e9);
        g.writeNumberField("sentencesPerSecond", sentences / (wallNanos / 1e9));
        g.writeNumberField("layerRuns", t.runs());
        g.writeNumberField("hostQuantizeSeconds", t.quantizeNanos() / 1e9);
        g.writeNumberField("hostTransferSeconds", t.transferNanos() / 1e9);
        g.writeNumberField("hostComputeSeconds", t.computeNanos() / 1e9);
        g.writeNumberField("hostDequantizeSeconds", t.dequantizeNanos() / 1e9);
        g.writeNumberField("hostOtherSeconds", (wallNanos - t.hostNanos()) / 1e9);
        g.writeNumberField("deviceSeconds", t.deviceSeconds());
        g.writeNumberField("deviceCycles", t.deviceCycles());
        g.writeNumberField("bytesMoved", t.bytesMoved());
        g.writeNumberField("macs", t.macs());
        g.writeNumberField("computeBoundRuns", t.computeBoundRuns());
        g.writeNumberField("memoryBoundRuns", t.memoryBoundRuns());
        g.writeEndObject();
        g.writeObjectFieldStart("energy");
        g.writeNumberField("joules", t.energyJoules());
        g.writeNumberField("joulesPerSentence", t.energyJoules() / sentences);
        g.writeEndObject();
    }
}
