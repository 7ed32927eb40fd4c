package io.qbridge.model;

/**
 * The one switch of the JIT warm-ups (the encoder's and the decoder's, on the host or a device path): they run unless
 * {@code -Dqbridge.warmup=false} (in {@code QBRIDGE_JAVA_OPTS}; benchmarks compare both).
 */
public final class WarmUps {
    private WarmUps() {}

    /** Whether warm-ups run: {@code qbridge.warmup} is not false. */
    public static boolean enabled() {
        return Boolean.parseBoolean(System.getProperty("qbridge.warmup", "true"));
    }
}
