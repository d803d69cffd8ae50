package org.ferrocket.failover.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the ferrocket executable the suite runs against. */
public final class FerrocketBinary {
    /** System property and environment variable naming the binary. */
    public static final String PROPERTY = "FERROCKET_BIN";

    private FerrocketBinary() {
    }

    /**
     * Returns the binary path: system property FERROCKET_BIN, else environment FERROCKET_BIN, else
     * ../../target/debug/ferrocket relative to interop/failover.
     *
     * @throws IllegalStateException when the file is missing or not executable; a missing binary must fail
     *     the suite, never skip it
     */
    public static Path resolve() {
        String configured = System.getProperty(PROPERTY);
        if (isBlank(configured)) {
            configured = System.getenv(PROPERTY);
        }
        Path basedir = Paths.get(System.getProperty("interop.basedir", System.getProperty("user.dir")));
        Path binary = isBlank(configured)
                ? basedir.resolve("../../target/debug/ferrocket")
                : basedir.resolve(configured);
        binary = binary.toAbsolutePath().normalize();
        if (!Files.isRegularFile(binary) || !Files.isExecutable(binary)) {
            throw new IllegalStateException("ferrocket binary not found at " + binary
                    + "; build it with cargo build -p ferrocket (or point FERROCKET_BIN at it)");
        }
        return binary;
    }

    private static boolean isBlank(String s) {
        return s == null || s.trim().isEmpty();
    }
}
