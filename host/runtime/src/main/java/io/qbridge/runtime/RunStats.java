package io.qbridge.runtime;

import io.qbridge.device.RunResult;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Running totals of device runs, overall and per layer name. Thread-safe: layers of one model may run
 * from several threads.
 */
public final class RunStats {
    /**
     * Totals of a set of runs. Times in nanoseconds (host) and seconds (device model). The last five count what an
     * XRT device measured ({@link RunResult.Measured}): runs that carried a measurement, host-to-device and
     * device-to-host transfer, on-device time (run start to completion) and the kernel's counted cycles.
     */
    public record Totals(long runs, long rows, long quantizeNanos, long transferNanos, long computeNanos, long dequantizeNanos,
                         long deviceCycles, double deviceSeconds, long bytesMoved, double energyJoules, long macs,
                         long computeBoundRuns, long memoryBoundRuns,
                         long measuredRuns, long hostToDeviceNanos, long deviceToHostNanos, long onDeviceNanos, long countedCycles) {
        static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public long hostNanos() {
            return quantizeNanos + transferNanos + computeNanos + dequantizeNanos;
        }

        Totals plus(RunResult r, int rows) {
            RunResult.Measured m = r.measured();
            return new Totals(runs + 1, this.rows + rows, quantizeNanos + r.quantizeNanos(), transferNanos + r.transferNanos(),
                    computeNanos + r.computeNanos(), dequantizeNanos + r.dequantizeNanos(), deviceCycles + r.deviceCycles(),
                    deviceSeconds + r.deviceSeconds(), bytesMoved + r.bytesMoved(), energyJoules + r.energyJoules(), macs + r.macs(),
                    computeBoundRuns + (r.bound() == RunResult.Bound.COMPUTE ? 1 : 0), memoryBoundRuns + (r.bound() == RunResult.Bound.MEMORY ? 1 : 0),
                    measuredRuns + (m == null ? 0 : 1), hostToDeviceNanos + (m == null ? 0 : m.hostToDeviceNanos()),
                    deviceToHostNanos + (m == null ? 0 : m.deviceToHostNanos()), onDeviceNanos + (m == null ? 0 : m.onDeviceNanos()),
                    countedCycles + (m == null ? 0 : Math.max(0, m.countedCycles())));
        }

        /** This minus an earlier snapshot of the same counters. */
        public Totals minus(Totals o) {
            return new Totals(runs - o.runs, rows - o.rows, quantizeNanos - o.quantizeNanos, transferNanos - o.transferNanos,
                    computeNanos - o.computeNanos, dequantizeNanos - o.dequantizeNanos, deviceCycles - o.deviceCycles,
                    deviceSeconds - o.deviceSeconds, bytesMoved - o.bytesMoved, energyJoules - o.energyJoules, macs - o.macs,
                    computeBoundRuns - o.computeBoundRuns, memoryBoundRuns - o.memoryBoundRuns, measuredRuns - o.measuredRuns,
                    hostToDeviceNanos - o.hostToDeviceNanos, deviceToHostNanos - o.deviceToHostNanos, onDeviceNanos - o.onDeviceNanos,
                    countedCycles - o.countedCycles);
        }
    }

    private final Map<String, Totals> perLayer = new ConcurrentHashMap<>();
    private final java.util.List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Totals total = Totals.ZERO;

    public void record(String layer, RunResult r, int rows) {
        perLayer.compute(layer, (k, t) -> {
            if (t == null) order.add(layer);
            return (t == null ? Totals.ZERO : t).plus(r, rows);
        });
        synchronized (this) {
            total = total.plus(r, rows);
        }
    }

    public synchronized Totals total() {
        return total;
    }

    /** Per-layer totals in the order layers first ran. */
    public Map<String, Totals> perLayer() {
        Map<String, Totals> out = new LinkedHashMap<>();
        for (String name : order) out.put(name, perLayer.get(name));
        return out;
    }

    public synchronized void reset() {
        perLayer.clear();
        order.clear();
        total = Totals.ZERO;
    }
}
