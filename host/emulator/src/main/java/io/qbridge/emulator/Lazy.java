package io.qbridge.emulator;

import java.util.function.Supplier;

/**
 * A value made by {@code make} when first asked for, once, whichever threads ask (null is a value too): a layer's
 * decode kernel, or its 64-bit integers when its plan came from a {@link PlanCache}.
 */
final class Lazy<T> implements Supplier<T> {
    private final Supplier<T> make;
    private volatile boolean made;
    private T value; // written before made, read after it

    Lazy(Supplier<T> make) {
        this.make = make;
    }

    @Override
    public T get() {
        if (made) return value;
        synchronized (this) {
            if (!made) {
                value = make.get();
                made = true;
            }
            return value;
        }
    }
}
