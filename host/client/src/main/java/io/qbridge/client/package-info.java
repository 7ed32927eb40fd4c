/**
 * The client side of remote jobs: {@link io.qbridge.client.QbridgeClient}, a small blocking Java API over
 * the {@code qbridge.v1.JobService} stubs (plain text or TLS, bearer token, resumable uploads with
 * {@link io.qbridge.client.ModelUpload}, watches that follow a job across a fleet, artifact downloads). It depends
 * on the protocol and gRPC's Netty transport only; the {@code qbridge submit}, {@code jobs}, {@code job},
 * {@code cancel} and {@code fetch} commands that use it live in {@code io.qbridge.cli}.
 */
package io.qbridge.client;
