package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerQueries;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.OrderlyConsumerMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ordered messages: a MessageQueueSelector puts every message of one key in one queue, the broker's lock table
 * (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ) gives each queue to one consumer at a time, and MessageListenerOrderly sees
 * each key's messages in send order across a rebalance and a consumer crash.
 */
class OrderedMessageTest extends FerrocketTestBase {
    private static final int QUEUES = 4;
    private static final int KEYS = 8;
    private static final int PER_KEY = 60;
    /** Messages per key sent before the second consumer joins. */
    private static final int FIRST_PART = 10;

    /** A selector routing key kN to queue N % queues, as an application would route an order id. */
    private static final MessageQueueSelector BY_KEY = (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size());

    @Test
    @Timeout(60)
    void lockTableGivesEachQueueToOneClientUntilUnlocked() throws Exception {
        String topic = "OrderedLockTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "ordered_lock_producer"));
        producer.send(new Message(topic, "x".getBytes(StandardCharsets.UTF_8)));
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            String group = "ordered_lock_group";
            assertEquals(Set.of(0, 1), broker.lockBatch(group, "client-1", topic, List.of(0, 1)));
            assertEquals(Set.of(2), broker.lockBatch(group, "client-2", topic, List.of(0, 1, 2)),
                    "queues 0 and 1 are held by client-1");
            assertEquals(0, broker.unlockBatch(group, "client-2", topic, List.of(0)));
            assertEquals(Set.of(2), broker.lockBatch(group, "client-2", topic, List.of(0, 2)),
                    "an unlock by a client that does not hold the queue changes nothing");
            assertEquals(Set.of(0, 1), broker.lockBatch(group, "client-1", topic, List.of(0, 1)), "renewal");
            assertEquals(Set.of(), broker.lockBatch("other_group", "client-9", topic, List.of()),
                    "empty request");
            assertEquals(Set.of(0, 1), broker.lockBatch("other_group", "client-9", topic, List.of(0, 1)),
                    "locks are per group");
            assertEquals(0, broker.unlockBatch(group, "client-1", topic, List.of(0, 1)));
            assertEquals(Set.of(0, 1, 2), broker.lockBatch(group, "client-2", topic, List.of(0, 1, 2)));
        }
    }

    @Test
    @Timeout(120)
    void orderlyFailuresRetryLocallyThenGoToTheDeadLetterQueue() throws Exception {
        String topic = "OrderedRetryTopic";
        String group = "ordered_retry_group";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "ordered_retry_producer"));
        sendOrdered(producer, topic, 0, 1);
        awaitRoute(ferrocket, topic);
        List<String> attempts = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.setMaxReconsumeTimes(2);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerOrderly) (messages, context) -> {
            context.setSuspendCurrentQueueTimeMillis(100);
            for (MessageExt m : messages) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                attempts.add(body + "#" + m.getReconsumeTimes());
                if (body.startsWith("k0 ")) {
                    return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
                }
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        start(consumer);
        // The client retries in place (the queue stays blocked), then resends the message to %RETRY%group;
        // the broker sees the group's queue locks and moves it straight to %DLQ%group.
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            Await.until(Duration.ofSeconds(60), () -> {
                try {
                    return broker.maxOffset("%DLQ%" + group, 0) == 1;
                } catch (Exception e) {
                    return false;
                }
            }, () -> "%DLQ%" + group + " is empty; attempts " + attempts);
        }
        Await.quietPeriod(Duration.ofSeconds(2));
        List<String> k0 = new ArrayList<>();
        for (String a : attempts) {
            if (a.startsWith("k0 ")) {
                k0.add(a);
            }
        }
        assertEquals(List.of("k0 0#0", "k0 0#1", "k0 0#2"), k0, "local retries, then nothing");
    }

    @Test
    @Timeout(240)
    void orderIsKeptAcrossRebalanceAndConsumerCrash() throws Exception {
        String topic = "OrderedTopic";
        String group = "ordered_group";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "ordered_producer"));
        sendOrdered(producer, topic, 0, FIRST_PART);
        awaitRoute(ferrocket, topic);

        // A slow orderly consumer in its own JVM takes every queue and drains the first part.
        Path childOut = Files.createTempFile("ordered-child", ".txt");
        Process child = startChild(group, topic, childOut);
        try {
            Await.until(Duration.ofSeconds(60), () -> lines(readChild(childOut)) == KEYS * FIRST_PART,
                    () -> "the orderly child consumed " + lines(readChild(childOut)) + " of " + KEYS * FIRST_PART
                            + "; child " + output(child));

            // A second member joins: the idle child releases half of the queues (UNLOCK_BATCH_MQ) and this
            // one locks them (LOCK_BATCH_MQ).
            Map<String, List<long[]>> survivor = new ConcurrentHashMap<>();
            Map<Integer, AtomicInteger> inFlight = new ConcurrentHashMap<>();
            List<String> violations = new CopyOnWriteArrayList<>();
            DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerOrderly) (messages, context) -> {
                for (MessageExt m : messages) {
                    AtomicInteger busy = inFlight.computeIfAbsent(m.getQueueId(), q -> new AtomicInteger());
                    if (busy.incrementAndGet() != 1) {
                        violations.add("queue " + m.getQueueId() + " consumed by two threads at once");
                    }
                    String[] parts = new String(m.getBody(), StandardCharsets.UTF_8).split(" ");
                    survivor.computeIfAbsent(parts[0], k -> new CopyOnWriteArrayList<>())
                            .add(new long[] {Long.parseLong(parts[1]), System.currentTimeMillis()});
                    busy.decrementAndGet();
                }
                return ConsumeOrderlyStatus.SUCCESS;
            });
            start(consumer);
            Await.until(Duration.ofSeconds(60), () -> lockedQueues(consumer, topic) == QUEUES / 2,
                    () -> "the joining orderly consumer holds " + lockedQueues(consumer, topic)
                            + " locked queues, expected " + QUEUES / 2);

            // The second part flows to both; the child is killed while it still has messages to consume.
            sendOrdered(producer, topic, FIRST_PART, PER_KEY);
            Await.until(Duration.ofSeconds(60), () -> lines(readChild(childOut)) >= KEYS * FIRST_PART + 10,
                    () -> "the child stopped consuming: " + progress(survivor, readChild(childOut)));
            // Crash: no UNLOCK_BATCH_MQ, no offset flush. The broker keeps the child's locks until they expire
            // (60 s without renewal); then the survivor takes the queues over from the last committed offset.
            child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            Map<String, List<long[]>> crashed = readChild(childOut);
            assertTrue(lines(crashed) < KEYS * FIRST_PART + KEYS / 2 * (PER_KEY - FIRST_PART),
                    "the child finished its queues before it was killed; nothing to take over: "
                            + progress(survivor, crashed));
            Await.until(Duration.ofSeconds(150), () -> everyKeyComplete(survivor, crashed),
                    () -> "survivor did not consume everything after the crash: " + progress(survivor, crashed));
            assertEquals(KEYS, survivor.size(), "the survivor consumed from every queue after the crash: "
                    + progress(survivor, crashed));
            assertTrue(violations.isEmpty(), violations.toString());

            for (int key = 0; key < KEYS; key++) {
                String k = "k" + key;
                List<long[]> before = crashed.getOrDefault(k, List.of());
                List<long[]> after = survivor.getOrDefault(k, List.of());
                assertContiguous(k + " in the child", before, 0);
                long expectedStart = after.isEmpty() ? 0 : after.get(0)[0];
                assertTrue(expectedStart <= before.size(), k + ": survivor started at " + expectedStart
                        + " but the child only consumed " + before.size() + " (a gap: messages lost)");
                assertContiguous(k + " in the survivor", after, expectedStart);
                if (!before.isEmpty() && !after.isEmpty()) {
                    long childLast = before.get(before.size() - 1)[1];
                    assertTrue(after.get(0)[1] >= childLast, k + ": the survivor consumed the queue at "
                            + after.get(0)[1] + " while the child still held it (child's last at " + childLast
                            + ")");
                }
            }
        } finally {
            child.destroyForcibly();
            Files.deleteIfExists(childOut);
        }
    }

    private static void sendOrdered(DefaultMQProducer producer, String topic, int from, int to) throws Exception {
        // Round-robin over the keys, so each queue interleaves two keys.
        for (int seq = from; seq < to; seq++) {
            for (int key = 0; key < KEYS; key++) {
                Message m = new Message(topic, "k" + key, ("k" + key + " " + seq).getBytes(StandardCharsets.UTF_8));
                SendResult r = producer.send(m, BY_KEY, key);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
                assertEquals(key % QUEUES, r.getMessageQueue().getQueueId(), "selector choice ignored");
            }
        }
    }

    /** Queues of the topic the consumer holds with a broker lock. */
    private static int lockedQueues(DefaultMQPushConsumer consumer, String topic) {
        int locked = 0;
        for (Map.Entry<MessageQueue, ProcessQueue> e : consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl()
                .getProcessQueueTable().entrySet()) {
            if (e.getKey().getTopic().equals(topic) && !e.getValue().isDropped() && e.getValue().isLocked()) {
                locked++;
            }
        }
        return locked;
    }

    private Process startChild(String group, String topic, Path out) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> command = new ArrayList<>(List.of(java,
                // No lock renewal: the broker-side lock then expires 60 s after it was taken.
                "-Drocketmq.client.rebalance.lockInterval=600000",
                "-Dcom.rocketmq.sendMessageWithVIPChannel=false",
                "-cp", System.getProperty("java.class.path"),
                OrderlyConsumerMain.class.getName(),
                ferrocket.nameServerAddress(), group, topic, out.toString(), "100"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        // The child's output goes beside the ferrocket logs, for a failure to be diagnosed.
        String logDir = System.getProperty("interop.logdir", System.getProperty("java.io.tmpdir"));
        Files.createDirectories(Path.of(logDir));
        builder.redirectOutput(Path.of(logDir, "OrderedMessageTest-child.log").toFile());
        Process process = builder.start();
        closeAfterTest(process::destroyForcibly);
        return process;
    }

    private static String output(Process child) {
        return child.isAlive() ? "(running)" : "exited with " + child.exitValue();
    }

    /** key -> [seq, endMillis] in consumption order, from the child's output file. */
    private static Map<String, List<long[]>> readChild(Path file) {
        Map<String, List<long[]>> byKey = new TreeMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] p = line.trim().split(" ");
                if (p.length == 4) {
                    byKey.computeIfAbsent(p[0], k -> new ArrayList<>())
                            .add(new long[] {Long.parseLong(p[1]), Long.parseLong(p[3])});
                }
            }
        } catch (Exception e) {
            throw new AssertionError("cannot read " + file, e);
        }
        return byKey;
    }

    private static int lines(Map<String, List<long[]>> byKey) {
        return byKey.values().stream().mapToInt(List::size).sum();
    }

    private static boolean everyKeyComplete(Map<String, List<long[]>> survivor, Map<String, List<long[]>> child) {
        for (int key = 0; key < KEYS; key++) {
            List<long[]> s = survivor.getOrDefault("k" + key, List.of());
            List<long[]> c = child.getOrDefault("k" + key, List.of());
            boolean survivorDone = !s.isEmpty() && s.get(s.size() - 1)[0] == PER_KEY - 1;
            boolean childDone = c.size() == PER_KEY;
            if (!survivorDone && !childDone) {
                return false;
            }
        }
        return true;
    }

    private static String progress(Map<String, List<long[]>> survivor, Map<String, List<long[]>> child) {
        StringBuilder b = new StringBuilder();
        for (int key = 0; key < KEYS; key++) {
            String k = "k" + key;
            b.append(k).append(": child ").append(child.getOrDefault(k, List.of()).size()).append(", survivor ")
                    .append(survivor.getOrDefault(k, List.of()).size()).append("; ");
        }
        return b.toString();
    }

    private static void assertContiguous(String what, List<long[]> deliveries, long start) {
        long expected = start;
        for (long[] d : deliveries) {
            assertEquals(expected, d[0], what + ": out of order or gap after seq " + (expected - 1));
            expected++;
        }
    }
}
