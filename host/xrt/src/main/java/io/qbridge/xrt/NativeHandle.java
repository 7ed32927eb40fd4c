package io.qbridge.xrt;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;

/**
 * One XRT handle and the C call that releases it, released at most once: by the owning wrapper's
 * {@code close()}, by its device's close (children first), or by the {@link Cleaner} when the wrapper became
 * unreachable without being closed. It holds no reference to the wrapper, so the Cleaner can run it.
 */
final class NativeHandle implements Runnable {
    static final Cleaner CLEANER = Cleaner.create();

    final String label;
    final Pointer pointer;
    private final ToIntFunction<Pointer> release;
    private final String releaseCall;
    private final AtomicBoolean released = new AtomicBoolean();

    NativeHandle(String label, Pointer pointer, String releaseCall, ToIntFunction<Pointer> release) {
        this.label = label;
        this.pointer = pointer;
        this.releaseCall = releaseCall;
        this.release = release;
    }

    boolean released() {
        return released.get();
    }

    /** The live pointer for a call, or an exception naming the call when the handle was released. */
    Pointer live(String call) {
        if (released.get()) throw new XrtException(call, label + " was already released");
        return pointer;
    }

    /** Releases the handle once; returns the C status (0 = ok, also when it was already released). */
    int release() {
        if (!released.compareAndSet(false, true)) return 0;
        return release.applyAsInt(pointer);
    }

    /** Releases and throws if XRT reports a failure. */
    void releaseOrThrow() {
        int rc = release();
        if (rc != 0) throw new XrtException(releaseCall + "(" + label + ")", "returned " + rc);
    }

    @Override
    public void run() {
        release();
    }

    @Override
    public String toString() {
        return label;
    }
}
