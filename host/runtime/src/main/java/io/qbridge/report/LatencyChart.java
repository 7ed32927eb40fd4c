package io.qbridge.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** A PNG bar chart of per-layer latency: measured host time and modelled device time side by side. */
public final class LatencyChart {
    private LatencyChart() {}

    /** One bar group: a layer's short label, its host p50 and its modelled device time, both in µs. */
    public record Bar(String label, double hostMicros, double deviceMicros) {}

    /** "encoder.layer.3.attention.self.query.weight" becomes "3 query", "…3.output.dense.weight" "3 ffn-down". */
    public static String shortLabel(String layer) {
        String s = layer.replace(".weight", "").replace("encoder.layer.", "");
        int dot = s.indexOf('.');
        if (dot < 0) return s;
        String block = s.substring(0, dot), rest = s.substring(dot + 1);
        String role = switch (rest) {
            case "attention.self.query" -> "query";
            case "attention.self.key" -> "key";
            case "attention.self.value" -> "value";
            case "attention.output.dense" -> "attn-out";
            case "intermediate.dense" -> "ffn-up";
            case "output.dense" -> "ffn-down";
            default -> rest;
        };
        return block + " " + role;
    }

    /** Writes the chart atomically (temporary file, then rename). */
    public static void write(Path out, String title, List<Bar> bars) throws IOException {
        write(out, title, bars, "device (modelled)");
    }

    /** As above, naming the device series. */
    public static void write(Path out, String title, List<Bar> bars, String deviceSeries) throws IOException {
        io.qbridge.files.OutputFiles.write(out, png(title, bars, deviceSeries));
    }

    /** The chart as PNG bytes, the device series being the performance model's. */
    public static byte[] png(String title, List<Bar> bars) throws IOException {
        return png(title, bars, "device (modelled)");
    }

    /** The chart as PNG bytes; {@code deviceSeries} names what the device bars are (modelled, or measured on a device). */
    public static byte[] png(String title, List<Bar> bars, String deviceSeries) throws IOException {
        System.setProperty("java.awt.headless", "true");
        // split axis: modelled device time is often 100-1000x below measured host time, so each series has its
        // own y axis (host left, device right) and both stay readable (XChart's log axis refuses bar charts);
        // the legend below the plot covers no bar; every layer keeps its own label ("block role")
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(900, 28 * bars.size())).height(620).title(title)
                .xAxisTitle("linear layer (block, role)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.setYAxisGroupTitle(0, "host µs per forward (measured p50)");
        chart.setYAxisGroupTitle(1, "device µs per forward: " + deviceSeries);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.getStyler().setChartTitleFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.BOLD, 14));
        chart.getStyler().setXAxisLabelRotation(90);
        chart.getStyler().setAvailableSpaceFill(0.8);
        chart.getStyler().setXAxisTickMarkSpacingHint(20); // XChart drops category labels closer than this (default 74 px)
        chart.getStyler().setAxisTickLabelsFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 10));
        List<String> labels = new ArrayList<>();
        List<Double> host = new ArrayList<>(), device = new ArrayList<>();
        for (Bar b : bars) {
            labels.add(b.label());
            host.add(b.hostMicros());
            device.add(b.deviceMicros());
        }
        chart.addSeries("host p50 (measured, left axis)", labels, host);
        chart.addSeries(deviceSeries + ", right axis", labels, device).setYAxisGroup(1);
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
