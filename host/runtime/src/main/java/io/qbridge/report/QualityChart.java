package io.qbridge.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The quality-versus-size picture of {@code qbridge eval --chart}: one point per format (bits/weight against a quality
 * figure), each labelled, and the Pareto front (no other point has fewer or equal bits and better quality) drawn as a
 * line through its points.
 */
public final class QualityChart {
    private QualityChart() {}

    /** One format: its label, bits/weight and quality (cosine to FP32: higher is better; perplexity: lower is better). */
    public record Point(String label, double bitsPerWeight, double quality) {}

    /**
     * The points on the Pareto front, by ascending bits: a point is on it when no other point has bits <= its bits and a
     * strictly better quality, or equal quality with strictly fewer bits.
     */
    public static List<Point> front(List<Point> points, boolean higherIsBetter) {
        List<Point> out = new ArrayList<>();
        for (Point p : points) {
            boolean dominated = false;
            for (Point o : points) {
                if (o == p) continue;
                boolean better = higherIsBetter ? o.quality() > p.quality() : o.quality() < p.quality();
                boolean same = o.quality() == p.quality();
                if ((o.bitsPerWeight() <= p.bitsPerWeight() && better) || (same && o.bitsPerWeight() < p.bitsPerWeight())) { dominated = true; break; }
            }
            if (!dominated) out.add(p);
        }
        out.sort(Comparator.comparingDouble(Point::bitsPerWeight));
        return out;
    }

    /** Writes the PNG atomically (temporary file, then rename). */
    public static void write(Path out, String title, String qualityName, boolean higherIsBetter, List<Point> points) throws IOException {
        byte[] png = png(title, qualityName, higherIsBetter, points);
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            Files.write(tmp, png);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static byte[] png(String title, String qualityName, boolean higherIsBetter, List<Point> points) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(1000).height(640).title(title).xAxisTitle("bits per weight (every stored bit)").yAxisTitle(qualityName).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setMarkerSize(9);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        List<Point> front = front(points, higherIsBetter);
        for (Point p : points) {
            XYSeries s = chart.addSeries(p.label() + (front.contains(p) ? " *" : ""), new double[] {p.bitsPerWeight()}, new double[] {p.quality()});
            s.setMarker(front.contains(p) ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
        }
        if (front.size() >= 2) {
            XYSeries f = chart.addSeries("Pareto front (*)", front.stream().mapToDouble(Point::bitsPerWeight).toArray(), front.stream().mapToDouble(Point::quality).toArray());
            f.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            f.setMarker(SeriesMarkers.NONE);
            f.setLineColor(java.awt.Color.BLACK);
            f.setLineWidth(2.5f);
        }
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
