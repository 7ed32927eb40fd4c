package io.qbridge.server;

import io.qbridge.device.Accelerator;
import io.qbridge.device.DeviceInfo;
import io.qbridge.device.LayerHandle;
import io.qbridge.device.RunResult;
import io.qbridge.format.PackedTensor;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps a job responsive while it computes on a device that may hang: the device work runs on its own
 * thread while the job's worker watches it every {@link #POLL_MILLIS} ms, so a cancel, the job's deadline or
 * a device call that does not return within the device timeout ends the job in bounded time. (A call stuck
 * inside a driver cannot be forced to return; its thread is interrupted and abandoned, and the job is
 * reported at once.)
 */
final class DeviceWatch {
    static final long POLL_MILLIS = 50;
    /** How long a cancelled or expired job waits for its device work to reach its next checkpoint. */
    static final long STOP_WAIT_MILLIS = 1000;

    private DeviceWatch() {}

    /** A device failed under a job: it disappeared, threw, or did not answer in time. The message names the device. */
    static final class DeviceFailure extends Exception {
        private static final long serialVersionUID = 1L;

        DeviceFailure(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /** Work done with a device. */
    @FunctionalInterface
    interface Body<T> {
        T run(Watched device) throws Exception;
    }

    /** An accelerator whose layer runs are timed while they are in flight. */
    static final class Watched implements Accelerator {
        private final Accelerator inner;
        private final String name;
        private final Map<Long, Long> inFlight = new ConcurrentHashMap<>(); // call number -> start nanos
        private final AtomicLong calls = new AtomicLong();

        /** Layers this job loaded onto a device the server owns: unloaded at the end instead of closing the device. */
        private final java.util.List<LayerHandle> borrowedLoads;

        /** A device this job opened and closes when it ends. */
        Watched(Accelerator inner) {
            this(inner, false);
        }

        /** @param borrowed the server owns the device (its emulator or a board): close() unloads this job's layers and leaves the device open */
        Watched(Accelerator inner, boolean borrowed) {
            this.inner = inner;
            this.name = inner.describe().name();
            this.borrowedLoads = borrowed ? java.util.Collections.synchronizedList(new java.util.ArrayList<>()) : null;
        }

        /** The device's name, read once when it was opened (a hung device is not asked again). */
        String name() {
            return name;
        }

        /** How long the oldest run still in flight has been running; 0 when none is. */
        long longestRunMillis() {
            long now = System.nanoTime(), oldest = now;
            for (long start : inFlight.values()) oldest = Math.min(oldest, start);
            return TimeUnit.NANOSECONDS.toMillis(now - oldest);
        }

        @Override public DeviceInfo describe() { return inner.describe(); }
        @Override public LayerHandle load(PackedTensor weights, float[] bias) {
            LayerHandle h = inner.load(weights, bias);
            if (borrowedLoads != null) borrowedLoads.add(h);
            return h;
        }

        @Override public LayerHandle load(String layer, PackedTensor weights, float[] bias) {
            LayerHandle h = inner.load(layer, weights, bias); // the name reaches a per-layer configured mode (Ax-BxP)
            if (borrowedLoads != null) borrowedLoads.add(h);
            return h;
        }

        @Override public void expectDecoding() {
            inner.expectDecoding();
        }

        @Override public void unload(LayerHandle handle) {
            if (borrowedLoads != null) borrowedLoads.remove(handle);
            inner.unload(handle);
        }

        @Override public void close() {
            if (borrowedLoads == null) {
                inner.close();
                return;
            }
            synchronized (borrowedLoads) {
                for (LayerHandle h : borrowedLoads) inner.unload(h);
                borrowedLoads.clear();
            }
        }

        @Override
        public RunResult run(LayerHandle handle, float[] x, int rows, float[] y) {
            return inFlight(() -> inner.run(handle, x, rows, y));
        }

        /** Forwarded whole, so that a decoder's shared-input call stays one device call (one fan-out) under the watch. */
        @Override
        public RunResult[] runShared(LayerHandle[] handles, float[] x, int rows, float[][] ys) {
            return inFlight(() -> inner.runShared(handles, x, rows, ys));
        }

        private <T> T inFlight(java.util.function.Supplier<T> call) {
            long id = calls.incrementAndGet();
            inFlight.put(id, System.nanoTime());
            try {
                return call.get();
            } finally {
                inFlight.remove(id);
            }
        }
    }

    /**
     * Runs {@code body} (which computes on {@code device}) on its own thread and waits for it, checking the
     * job every {@link #POLL_MILLIS} ms.
     *
     * @throws JobAbortedException when the job is cancelled, passes its deadline or the server stops
     * @throws DeviceFailure       when a device run is in flight longer than {@code deviceTimeoutMillis}, or
     *                             the body fails with anything but a {@link JobAbortedException}
     */
    static <T> T supervise(JobContext ctx, Watched device, long deviceTimeoutMillis, Callable<T> body) throws DeviceFailure, InterruptedException {
        try {
            return watch(ctx, device, deviceTimeoutMillis, body);
        } catch (DeviceFailure | JobAbortedException | InterruptedException | Error e) {
            throw e;
        } catch (Exception c) {
            throw new DeviceFailure(device.name() + " failed: " + (c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage()), c);
        }
    }

    /** Host work without a device (an eval's reference embedding), watched the same way so that a cancel is prompt; its failures pass through. */
    static <T> T supervise(JobContext ctx, Callable<T> body) throws Exception {
        return watch(ctx, null, Long.MAX_VALUE, body);
    }

    private static <T> T watch(JobContext ctx, Watched device, long deviceTimeoutMillis, Callable<T> body) throws Exception {
        FutureTask<T> task = new FutureTask<>(body);
        Thread t = new Thread(task, "qbridge-job-" + ctx.jobId());
        t.setDaemon(true); // a call stuck in a driver must not keep the server alive
        t.start();
        while (true) {
            try {
                return task.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                try {
                    ctx.checkpoint();
                } catch (JobAbortedException a) {
                    task.cancel(true);
                    // the body stops at its own next checkpoint (a layer or a run later); wait for that, briefly, so
                    // that the device is free when the job is reported ended (a board runs one job at a time)
                    t.join(STOP_WAIT_MILLIS);
                    throw a;
                }
                if (device != null && device.longestRunMillis() > deviceTimeoutMillis) {
                    task.cancel(true);
                    throw new DeviceFailure("device timeout: " + device.name() + " did not return from a layer run within " + deviceTimeoutMillis + " ms", null);
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception c) throw c;
                throw (Error) e.getCause();
            } catch (InterruptedException e) {
                task.cancel(true);
                throw e;
            }
        }
    }
}
