package org.ferrocket.failover.support;

import java.time.Duration;
import java.util.function.Supplier;

/** Polling waits with a deadline; a timeout is a test failure with a caller-built message. */
public final class Await {
    private static final long POLL_MILLIS = 100;

    private Await() {
    }

    /** A check that may throw (a remoting call); an exception counts as "not yet". */
    @FunctionalInterface
    public interface Check {
        boolean holds() throws Exception;
    }

    /** Waits until the check holds, failing with the message after the timeout. */
    public static void until(Duration timeout, Check check, Supplier<String> failure) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!holds(check)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.getSeconds() + " s: " + failure.get());
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    private static boolean holds(Check check) {
        try {
            return check.holds();
        } catch (Exception e) {
            return false;
        }
    }
}
