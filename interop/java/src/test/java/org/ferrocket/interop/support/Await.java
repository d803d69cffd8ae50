package org.ferrocket.interop.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polling waits with a deadline; a timeout is a test failure with a caller-built message. */
public final class Await {
    private static final long POLL_MILLIS = 100;

    private Await() {
    }

    /** Waits until the condition holds, failing with the message after the timeout. */
    public static void until(Duration timeout, BooleanSupplier condition, Supplier<String> failure)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.getSeconds() + " s: " + failure.get());
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** Waits until the condition has held on consecutive polls spanning at least `stableFor`. */
    public static void stable(Duration timeout, Duration stableFor, BooleanSupplier condition,
                              Supplier<String> failure) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long heldSince = -1;
        while (true) {
            long now = System.nanoTime();
            if (condition.getAsBoolean()) {
                if (heldSince < 0) {
                    heldSince = now;
                } else if (now - heldSince >= stableFor.toNanos()) {
                    return;
                }
            } else {
                heldSince = -1;
            }
            if (now > deadline) {
                throw new AssertionError("timed out after " + timeout.getSeconds() + " s: " + failure.get());
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** Sleeps for the duration (used to let late duplicates or stray messages arrive before asserting). */
    public static void quietPeriod(Duration duration) throws InterruptedException {
        Thread.sleep(duration.toMillis());
    }
}
