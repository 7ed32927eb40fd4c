/**
 * The remote job server behind {@code qbridge serve}: the {@code qbridge.v1.JobService} over gRPC on the
 * project's Netty.
 *
 * <p>Pieces, each usable without the network: {@link io.qbridge.server.JobStore} (jobs and their events
 * in an embedded H2 database under {@code --data}, schema versioned by numbered migrations, flushed to
 * disk before a submit is acknowledged), {@link io.qbridge.server.ArtifactStore} (content-addressed
 * files, written to a temporary file, fsynced and renamed), {@link io.qbridge.server.JobScheduler}
 * (a bounded priority queue and a worker pool; cancellation and shutdown are noticed between layers or
 * batches), {@link io.qbridge.server.HostJobExecutor} (what quantize and run jobs do, on a
 * {@link io.qbridge.server.ComputeDevice}). The gRPC layer ({@link io.qbridge.server.JobServiceImpl},
 * {@link io.qbridge.server.BearerAuthInterceptor}) only validates, authorizes and translates.
 */
package io.qbridge.server;
