package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Asynchronous and one-way sends, and a lite pull consumer reading assigned queues from chosen offsets. */
class AsyncOnewayAndLitePullTest extends FerrocketTestBase {
    private static final String TOPIC = "AsyncOnewayTopic";
    private static final int ASYNC = 300;
    private static final int ONEWAY = 200;

    @Test
    @Timeout(180)
    void asyncAndOnewaySendsAreAllReceivedAndLitePullSeeksByOffset() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "async_producer"));
        // A first synchronous send creates the topic, so the concurrent async sends all see its route.
        SendResult first = producer.send(new Message(TOPIC, "TagA", body("sync", 0)));
        assertEquals(SendStatus.SEND_OK, first.getSendStatus(), first.toString());

        // queueId -> (queueOffset -> body) for every acknowledged send, to check what the lite pull returns.
        Map<Integer, Map<Long, String>> stored = new ConcurrentHashMap<>();
        record(stored, first, "sync-0");

        CountDownLatch callbacks = new CountDownLatch(ASYNC);
        List<String> asyncFailures = new CopyOnWriteArrayList<>();
        for (int i = 0; i < ASYNC; i++) {
            String text = "async-" + i;
            producer.send(new Message(TOPIC, "TagA", body("async", i)), new SendCallback() {
                @Override
                public void onSuccess(SendResult result) {
                    if (result.getSendStatus() != SendStatus.SEND_OK) {
                        asyncFailures.add(text + ": " + result);
                    } else {
                        record(stored, result, text);
                    }
                    callbacks.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    asyncFailures.add(text + ": " + e);
                    callbacks.countDown();
                }
            });
        }
        assertTrue(callbacks.await(60, TimeUnit.SECONDS),
                "only " + (ASYNC - callbacks.getCount()) + " of " + ASYNC + " SendCallbacks were called");
        assertTrue(asyncFailures.isEmpty(), "async sends failed: " + firstFew(asyncFailures));

        for (int i = 0; i < ONEWAY; i++) {
            producer.sendOneway(new Message(TOPIC, "TagB", body("oneway", i)));
        }

        Set<String> expected = new HashSet<>();
        expected.add("sync-0");
        for (int i = 0; i < ASYNC; i++) {
            expected.add("async-" + i);
        }
        for (int i = 0; i < ONEWAY; i++) {
            expected.add("oneway-" + i);
        }
        awaitRoute(ferrocket, TOPIC);

        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "async_oneway_consumer");
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(expected),
                () -> "async + one-way messages: " + received.summary(expected));
        Await.quietPeriod(Duration.ofMillis(500));
        Set<String> unexpected = new HashSet<>(received.keys());
        unexpected.removeAll(expected);
        assertTrue(unexpected.isEmpty(), "received messages that were never sent: " + firstFew(unexpected));
        if (received.duplicates() > 0) {
            System.out.println("async/one-way: " + received.duplicates() + " duplicate deliveries (at-least-once)");
        }
        consumer.shutdown();

        litePullSeeksToOffsets(stored);
    }

    private void litePullSeeksToOffsets(Map<Integer, Map<Long, String>> stored) throws Exception {
        DefaultLitePullConsumer lite = Clients.litePullConsumer(ferrocket, "lite_pull_seek_group", null);
        lite.setAutoCommit(false);
        start(lite);
        Collection<MessageQueue> queues = lite.fetchMessageQueues(TOPIC);
        assertEquals(stored.keySet().size(), queues.size(),
                "fetchMessageQueues must list every queue the sends used: " + queues);

        // The queue with the most acknowledged sends, so there is room to seek into the middle of it.
        MessageQueue queue = null;
        for (MessageQueue candidate : queues) {
            if (queue == null || size(stored, candidate) > size(stored, queue)) {
                queue = candidate;
            }
        }
        Map<Long, String> expectedInQueue = stored.get(queue.getQueueId());
        assertTrue(expectedInQueue.size() >= 20, "too few acknowledged sends in " + queue + ": " + expectedInQueue);
        lite.assign(List.of(queue));

        // Acknowledged offsets of a queue are contiguous from 0; one-way sends may sit between them.
        long middle = expectedInQueue.size() / 2;
        for (long seekTo : new long[] {middle, 3, 0}) {
            List<MessageExt> polled = seekAndPoll(lite, queue, seekTo);
            String context = "after seek(" + queue + ", " + seekTo + ") poll returned offsets " + offsets(polled);
            assertEquals(seekTo, polled.get(0).getQueueOffset(), context);
            for (int i = 0; i < polled.size(); i++) {
                MessageExt message = polled.get(i);
                assertEquals(queue.getQueueId(), message.getQueueId(), context);
                assertEquals(seekTo + i, message.getQueueOffset(), "offsets must be contiguous; " + context);
                String expectedBody = expectedInQueue.get(message.getQueueOffset());
                String actualBody = new String(message.getBody(), StandardCharsets.UTF_8);
                if (expectedBody != null) {
                    assertEquals(expectedBody, actualBody,
                            "body at offset " + message.getQueueOffset() + "; " + context);
                } else {
                    assertTrue(actualBody.startsWith("oneway-"), "offset " + message.getQueueOffset()
                            + " holds no acknowledged send, so it must be a one-way send: " + actualBody);
                }
            }
        }
    }

    /**
     * Seeks and polls. The official client's seek can race with its own pull tasks: a task that is
     * between starting and reading its next offset takes the seek offset for itself and is then
     * cancelled, and the replacing task pulls from the old position (seen once with 5.5.0, whose
     * poll after seek(38) returned 70..79); and a cancelled task that already holds a pull result
     * can hand it over after the replacing task's, so a batch from the old position follows the
     * sought one. Those are client races, not the broker's answer, so the seek is retried a bounded
     * number of times until the polled offsets run contiguously from the sought one; a broker serving
     * the wrong offsets fails every try.
     */
    private static List<MessageExt> seekAndPoll(DefaultLitePullConsumer lite, MessageQueue queue, long seekTo)
            throws Exception {
        List<MessageExt> polled = List.of();
        for (int attempt = 1; attempt <= 3; attempt++) {
            lite.seek(queue, seekTo);
            polled = pollAtLeast(lite, 10, Duration.ofSeconds(15));
            if (runsContiguouslyFrom(polled, seekTo)) {
                return polled;
            }
            System.out.println("lite pull: seek(" + seekTo + ") attempt " + attempt + " polled offsets "
                    + offsets(polled) + " (the client's pull task raced the seek); seeking again");
        }
        return polled;
    }

    private static boolean runsContiguouslyFrom(List<MessageExt> polled, long first) {
        for (int i = 0; i < polled.size(); i++) {
            if (polled.get(i).getQueueOffset() != first + i) {
                return false;
            }
        }
        return true;
    }

    private static List<MessageExt> pollAtLeast(DefaultLitePullConsumer lite, int count, Duration timeout) {
        List<MessageExt> all = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (all.size() < count && System.nanoTime() < deadline) {
            all.addAll(lite.poll(500));
        }
        assertTrue(all.size() >= count, "lite pull poll returned only " + all.size() + " messages within "
                + timeout.getSeconds() + " s: offsets " + offsets(all));
        return all;
    }

    private static List<Long> offsets(List<MessageExt> messages) {
        List<Long> offsets = new ArrayList<>();
        messages.forEach(m -> offsets.add(m.getQueueOffset()));
        return offsets;
    }

    private static int size(Map<Integer, Map<Long, String>> stored, MessageQueue queue) {
        return stored.getOrDefault(queue.getQueueId(), Map.of()).size();
    }

    private static void record(Map<Integer, Map<Long, String>> stored, SendResult result, String text) {
        stored.computeIfAbsent(result.getMessageQueue().getQueueId(), q -> new TreeMap<>());
        Map<Long, String> queue = stored.get(result.getMessageQueue().getQueueId());
        synchronized (queue) {
            queue.put(result.getQueueOffset(), text);
        }
    }

    private static byte[] body(String kind, int i) {
        return (kind + "-" + i).getBytes(StandardCharsets.UTF_8);
    }

    private static String firstFew(Collection<String> items) {
        List<String> list = new ArrayList<>(items);
        return list.size() + " " + list.subList(0, Math.min(10, list.size()));
    }
}
