package org.ferrocket.failover;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Every send attempt per body and every SEND_OK with where it was acknowledged; then the check of the store
 * against them.
 */
final class Ledger {
    /** One SEND_OK. */
    static final class Ack {
        final String body;
        final int queueId;
        final long queueOffset;
        final String msgId;
        /** The broker that stored it (the store host in offsetMsgId). */
        final String storeHost;
        final long attemptStartNanos;
        final long ackNanos;

        Ack(String body, SendResult r, long attemptStartNanos, long ackNanos) {
            this(body, r.getMessageQueue().getQueueId(), r.getQueueOffset(), r.getMsgId(), storeHost(r.getOffsetMsgId()),
                    attemptStartNanos, ackNanos);
        }

        Ack(String body, int queueId, long queueOffset, String msgId, String storeHost, long attemptStartNanos,
            long ackNanos) {
            this.body = body;
            this.queueId = queueId;
            this.queueOffset = queueOffset;
            this.msgId = msgId;
            this.storeHost = storeHost;
            this.attemptStartNanos = attemptStartNanos;
            this.ackNanos = ackNanos;
        }

        /** "host:port" of the broker that stored the message, from its offset message id. */
        static String storeHost(String offsetMsgId) {
            try {
                String host = MessageDecoder.decodeMessageId(offsetMsgId).getAddress().toString();
                return host.startsWith("/") ? host.substring(1) : host;
            } catch (Exception e) {
                return "?";
            }
        }

        @Override
        public String toString() {
            return body + "@" + queueId + ":" + queueOffset + " (msgId " + msgId + ", stored by " + storeHost + ")";
        }
    }

    final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    final AtomicInteger failedAttempts = new AtomicInteger();
    final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();

    /** A sender gives a body up after this many attempts (the producer itself never retries). */
    static final int MAX_ATTEMPTS = 200;

    /**
     * Starts `count` threads that each run {@link #sendLoop} through `producer`, thread t with the body prefix
     * `prefix` + t + "-", until {@link Senders#close}.
     */
    Senders startSenders(DefaultMQProducer producer, String topic, String prefix, int count) {
        Senders senders = new Senders(producer);
        for (int t = 0; t < count; t++) {
            String threadPrefix = prefix + t + "-";
            Thread s = new Thread(() -> sendLoop(producer, topic, threadPrefix, senders.running), "sender-" + t);
            s.start();
            senders.threads.add(s);
        }
        return senders;
    }

    /** Sender threads of {@link #startSenders} and their producer. */
    static final class Senders implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();
        private final DefaultMQProducer producer;

        Senders(DefaultMQProducer producer) {
            this.producer = producer;
        }

        /** Stops the senders, waits up to 30 s for each, and shuts the producer down. */
        @Override
        public void close() throws InterruptedException {
            running.set(false);
            for (Thread s : threads) {
                s.join(30_000);
            }
            producer.shutdown();
        }
    }

    /**
     * Sends unique bodies (`prefix` + sequence) until `running` is cleared, retrying a failed one up to
     * {@link #MAX_ATTEMPTS} times, 50 ms apart, and recording every attempt and acknowledgement.
     */
    void sendLoop(DefaultMQProducer producer, String topic, String prefix, AtomicBoolean running) {
        for (int seq = 0; running.get(); seq++) {
            String body = prefix + seq;
            for (int attempt = 0; attempt < MAX_ATTEMPTS && running.get(); attempt++) {
                attempt(body);
                long start = System.nanoTime();
                try {
                    SendResult r = producer.send(new Message(topic, body.getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acks.add(new Ack(body, r, start, System.nanoTime()));
                        break;
                    }
                    failed(r.getSendStatus().name());
                } catch (Exception e) {
                    failed(e.getClass().getSimpleName());
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    void attempt(String body) {
        attempts.computeIfAbsent(body, b -> new AtomicInteger()).incrementAndGet();
    }

    void failed(String why) {
        failedAttempts.incrementAndGet();
        failures.computeIfAbsent(why, w -> new AtomicInteger()).incrementAndGet();
    }

    /** The earliest acknowledgement of a send attempt started at or after `nanos`, or null. */
    Ack firstAckStartedAfter(long nanos) {
        Ack first = null;
        for (Ack a : acks) {
            if (a.attemptStartNanos >= nanos && (first == null || a.ackNanos < first.ackNanos)) {
                first = a;
            }
        }
        return first;
    }

    /** What the store holds, body -> "queue:offset" places. */
    static final class Stored {
        final Map<String, List<String>> places = new HashMap<>();
        final Map<String, String> byPlace = new HashMap<>();
        int messages;
    }

    /** Reads every queue of the topic from its first to its last offset through the name server's route. */
    static Stored readAll(String namesrv, String topic) throws Exception {
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer("failover-check-" + System.nanoTime());
        consumer.setNamesrvAddr(namesrv);
        consumer.start();
        Stored stored = new Stored();
        try {
            Set<MessageQueue> queues = consumer.fetchSubscribeMessageQueues(topic);
            for (MessageQueue mq : queues) {
                long max = consumer.maxOffset(mq);
                long offset = consumer.minOffset(mq);
                while (offset < max) {
                    PullResult r = consumer.pull(mq, "*", offset, 32, 10_000);
                    if (r.getPullStatus() != PullStatus.FOUND) {
                        throw new AssertionError("pull " + mq + " at " + offset + " (max " + max + "): " + r);
                    }
                    for (MessageExt m : r.getMsgFoundList()) {
                        String body = new String(m.getBody(), StandardCharsets.UTF_8);
                        String place = mq.getQueueId() + ":" + m.getQueueOffset();
                        stored.places.computeIfAbsent(body, b -> new ArrayList<>()).add(place);
                        stored.byPlace.put(place, body);
                        stored.messages++;
                    }
                    offset = r.getNextBeginOffset();
                }
            }
        } finally {
            consumer.shutdown();
        }
        return stored;
    }

    /**
     * Every acknowledged body is at its queue and offset; a body stored more than once was sent more than once.
     * Returns the number of duplicate copies.
     */
    int check(Stored stored) {
        List<String> problems = new ArrayList<>();
        for (Ack a : acks) {
            String there = stored.byPlace.get(a.queueId + ":" + a.queueOffset);
            if (!a.body.equals(there)) {
                problems.add("acknowledged " + a + " but the store holds " + (there == null ? "nothing" : there)
                        + " there; the body is at " + stored.places.getOrDefault(a.body, Collections.emptyList()));
            }
        }
        int duplicates = 0;
        for (Map.Entry<String, List<String>> e : stored.places.entrySet()) {
            int copies = e.getValue().size();
            if (copies > 1) {
                duplicates += copies - 1;
                AtomicInteger tries = attempts.get(e.getKey());
                if (tries == null || tries.get() < copies) {
                    problems.add(e.getKey() + " stored at " + e.getValue() + " but sent "
                            + (tries == null ? 0 : tries.get()) + " time(s)");
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(problems.size() + " problem(s), first ones:\n  "
                    + String.join("\n  ", problems.subList(0, Math.min(20, problems.size()))));
        }
        return duplicates;
    }
}
