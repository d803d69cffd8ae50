package org.ferrocket.interop.v5;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.common.message.MessageExt;

/** What a 4.x consumer received, by message id (UNIQ_KEY, the id a v5 producer reports). */
final class Inbox {
    private final Map<String, MessageExt> received = new ConcurrentHashMap<>();

    /** Keeps the first copy of {@code m}. */
    void add(MessageExt m) {
        received.putIfAbsent(m.getProperty("UNIQ_KEY"), m);
    }

    /** The message {@code id}, if it was received. */
    MessageExt get(String id) {
        return received.get(id);
    }

    /** Waits up to {@code timeoutMillis} for the message {@code id}. */
    MessageExt await(String id, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            MessageExt m = received.get(id);
            if (m != null) {
                return m;
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        throw new AssertionError("message " + id + " not received within " + timeoutMillis + " ms");
    }
}
