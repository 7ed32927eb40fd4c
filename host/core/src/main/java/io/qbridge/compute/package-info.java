/**
 * FP32 compute kernels on the host: matrix products, norms, activations and the thread fan-out they use.
 *
 * <p>This is the lowest layer: it knows float arrays and threads, nothing about models or formats. Hot loops use the (incubating) Vector API, so every JVM that runs Qbridge is started
 * with {@code --add-modules jdk.incubator.vector}.
 */
package io.qbridge.compute;
