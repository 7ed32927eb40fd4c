package io.qbridge.cli;

import io.qbridge.device.PerfConfig;
import io.qbridge.emulator.AxBxpPlan;
import io.qbridge.axbxpsearch.AxBxpSearch;
import java.util.List;

/** The Ax-BxP search's per-layer table: configuration, error, modelled energy and throughput against FxP8 on the same PE. */
final class AxBxpReport {
    private AxBxpReport() {}

    /** Tokens the per-layer modelled run is for (as in docs/performance-model.md §3's M = 512 column). */
    static final int TOKENS = 512;

    static void print(AxBxpSearch.Result s, PerfConfig perf) {
        List<AxBxpSearch.LayerCost> costs = AxBxpSearch.costs(s, perf, TOKENS);
        System.err.printf("Ax-BxP configurations (%s search; budget: %slayer-output relative error to FxP8 <= %s on %d calibration tokens); modelled at M = %d tokens, %s:%n",
                s.method().id, s.method() == AxBxpSearch.Method.GREEDY ? "RMS over the layers of the " : "", s.budget(), s.rows(), TOKENS, perf.preset());
        System.err.printf("%-48s %-18s %8s %8s %9s %9s %9s %9s%n", "layer", "config", "error", "pJ/MAC", "MAC E x", "layer E x", "MACs/cyc", "time x");
        double ea = 0, ef = 0, ta = 0, tf = 0, ma = 0, mf = 0;
        for (AxBxpSearch.LayerCost c : costs) {
            AxBxpSearch.Choice ch = c.choice();
            System.err.printf("%-48s %-18s %8.4f %8.3f %8.2fx %8.2fx %9d %8.2fx%n", ch.layer(), AxBxpPlan.format(ch.config()), ch.error(), ch.pjPerMac(),
                    ch.fxp8PjPerMac() / ch.pjPerMac(), c.fxp8().energyJoules() / c.axbxp().energyJoules(), ch.macsPerCycle(), c.fxp8().seconds() / c.axbxp().seconds());
            ea += c.axbxp().energyJoules(); ef += c.fxp8().energyJoules();
            ta += c.axbxp().seconds(); tf += c.fxp8().seconds();
            ma += c.axbxp().macJoules(); mf += c.fxp8().macJoules();
        }
        System.err.printf("all %d layers against FxP8: MAC energy %.2fx, layer energy (with memory) %.2fx, time %.2fx%n", costs.size(), mf / ma, ef / ea, tf / ta);
    }
}
