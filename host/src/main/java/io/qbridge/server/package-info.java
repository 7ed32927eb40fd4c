/**
 * The remote job server behind {@code qbridge serve}: the {@code qbridge.v1.JobService} over gRPC on the
 * project's Netty.
 *
 * <p>Pieces, each usable without the network: {@link io.qbridge.server.JobStore} (jobs and their events
 * in an embedded H2 database under {@code --data}, schema versioned by numbered migrations, flushed to
 * disk before a submit is acknowledged), {@link io.qbridge.server.ArtifactStore} (content-addressed
 * files, written to a temporary file, fsynced and renamed), {@link io.qbridge.server.JobScheduler}
 * (a bounded priority queue and a worker pool; cancellation and shutdown are noticed between layers or
 * batches), {@link io.qbridge.server.HostJobExecutor} (what quantize, run, bench and eval jobs do: on a
 * {@link io.qbridge.server.ComputeDevice}, or for bench jobs and device runs on the
 * {@link io.qbridge.device.Accelerator} an {@link io.qbridge.server.AcceleratorSource} opens, watched by
 * {@code DeviceWatch} so that a device that fails or hangs fails the job, or falls back to the emulator, in
 * bounded time). The gRPC layer ({@link io.qbridge.server.JobServiceImpl},
 * {@link io.qbridge.server.BearerAuthInterceptor}) only validates, authorizes and translates.
 */
package io.qbridge.server;
