/**
 * The remote job server behind {@code qbridge serve}: the {@code qbridge.v1.JobService} over gRPC on the
 * project's Netty.
 *
 * <p>Pieces, each usable without the network: {@link io.qbridge.server.JobStore} (jobs and their events
 * in SQL: an embedded H2 database under {@code --data}, or PostgreSQL shared by a fleet of servers;
 * schema versioned by numbered migrations; durable before a submit is acknowledged; claims with
 * {@code FOR UPDATE SKIP LOCKED} and leases), {@link io.qbridge.server.ArtifactStore} (content-addressed
 * files, written to a temporary file, fsynced and renamed; in fleet mode also copied into the database,
 * {@link io.qbridge.server.SharedArtifacts}, so every server serves every job's files and uploads, and
 * runs jobs that name them by sha256), {@link io.qbridge.server.JobScheduler}
 * (claims jobs from the store into device slots: host and emulator share the worker pool, each board is
 * exclusive; renews leases and takes over those of dead servers; cancellation and shutdown are noticed
 * between layers or batches), {@link io.qbridge.server.HostJobExecutor} (what quantize, run, bench, eval and generate
 * jobs do (a decoder .qbz upload: generate and perplexity, through the local commands' code), on the {@link io.qbridge.server.ComputeDevice} the scheduler gave them: a board's
 * {@link io.qbridge.device.Accelerator} itself, or for emulator jobs and fallbacks one that an
 * {@link io.qbridge.server.AcceleratorSource} opens, watched by {@code DeviceWatch} so that a device that
 * fails or hangs fails the job, or falls back to the emulator, in bounded time). The gRPC layer ({@link io.qbridge.server.JobServiceImpl},
 * {@link io.qbridge.server.BearerAuthInterceptor}) only validates, authorizes and translates.
 */
package io.qbridge.server;
