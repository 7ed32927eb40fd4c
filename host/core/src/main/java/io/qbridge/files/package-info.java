/**
 * Files qbridge writes: outputs a user keeps ({@code .qbz}, charts, data splits), written to a temporary file
 * beside the target and renamed over it, so bad input or a crash never leaves a partial file, with the
 * permissions the user's umask gives an ordinary file ({@link io.qbridge.files.OutputFiles}); and the user's cache
 * of large classpath resources kept inflated, checked against their jar's CRC-32 before use
 * ({@link io.qbridge.files.ResourceCache}); and the SHA-256 digests, as hex, that content is pinned by
 * ({@link io.qbridge.files.Sha256}).
 */
package io.qbridge.files;
