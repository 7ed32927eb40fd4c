/**
 * The client side of remote jobs: {@link io.qbridge.client.QbridgeClient}, a small blocking Java API over
 * the {@code qbridge.v1.JobService} stubs, and the commands built on it ({@code qbridge submit}, {@code jobs},
 * {@code job}, {@code cancel}, {@code fetch}) next to the server's {@code qbridge serve}.
 */
package io.qbridge.client;
