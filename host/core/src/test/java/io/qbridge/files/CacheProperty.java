package io.qbridge.files;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The {@code qbridge.cache} property ({@link ResourceCache#dir}) for one test: {@link #set} points it at a folder
 * (or {@code off}), and it is put back as it was after each test. Register it with {@code @RegisterExtension}.
 */
public final class CacheProperty implements BeforeEachCallback, AfterEachCallback {
    private static final String NAME = "qbridge.cache";
    private String previous;

    @Override
    public void beforeEach(ExtensionContext context) {
        previous = System.getProperty(NAME);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (previous == null) System.clearProperty(NAME);
        else System.setProperty(NAME, previous);
    }

    public void set(String value) {
        System.setProperty(NAME, value);
    }
}
