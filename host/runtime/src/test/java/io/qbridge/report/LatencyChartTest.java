package io.qbridge.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The bench chart of a 6-block encoder (36 layers) with host times ~1000x the modelled device times. It is
 * written to target/latency-chart-sample.png to be looked at; this test checks what can be checked by machine.
 */
class LatencyChartTest {
    static List<LatencyChart.Bar> minilmLike() {
        List<LatencyChart.Bar> bars = new ArrayList<>();
        String[] roles = {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"};
        for (int b = 0; b < 6; b++)
            for (int r = 0; r < roles.length; r++) {
                double host = r >= 4 ? 2400 + 37 * b : 620 + 11 * r;
                double device = r >= 4 ? 3.9 : 1.0;
                bars.add(new LatencyChart.Bar(LatencyChart.shortLabel("encoder.layer." + b + "." + roles[r] + ".weight"), host, device));
            }
        return bars;
    }

    @Test
    void everyLayerHasRoomAndBothSeriesAreDrawn() throws Exception {
        List<LatencyChart.Bar> bars = minilmLike();
        byte[] png = LatencyChart.png("minilm mxint8 on emulator: per-layer time, 64 sentences", bars);
        Path out = Path.of("target", "latency-chart-sample.png");
        Files.createDirectories(out.getParent());
        Files.write(out, png);
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(Math.max(900, 28 * bars.size()), img.getWidth());
        assertEquals("0 query", bars.get(0).label());
        assertEquals("5 ffn-down", bars.get(35).label());
        // a zero time (a fused stage) still draws
        assertTrue(LatencyChart.png("t", List.of(new LatencyChart.Bar("0 query", 0, 0))).length > 0);
    }
}
