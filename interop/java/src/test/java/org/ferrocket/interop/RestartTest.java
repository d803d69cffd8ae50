package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A graceful restart on the same store and ports keeps messages, queue offsets and the consumer group's
 * committed offsets.
 */
class RestartTest extends FerrocketTestBase {
    private static final String TOPIC = "RestartTopic";
    private static final String GROUP = "restart_group";
    private static final int CONSUMED_BEFORE_RESTART = 80;
    private static final int TOTAL_BEFORE_RESTART = 200;
    private static final int SENT_AFTER_RESTART = 20;

    @Test
    @Timeout(180)
    void restartKeepsMessagesAndCommittedOffsets() throws Exception {
        Map<Integer, Long> maxOffsetByQueue = new HashMap<>();

        // Part one is sent and consumed by the group, which then shuts down (committing its offsets).
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "restart_producer"));
        List<String> consumed = send(producer, "first", 0, CONSUMED_BEFORE_RESTART, maxOffsetByQueue);
        awaitRoute(ferrocket, TOPIC);
        Received beforeRestart = bodies();
        DefaultMQPushConsumer consumer = consumer(GROUP, beforeRestart);
        Await.until(Duration.ofSeconds(60), () -> beforeRestart.containsAll(consumed),
                () -> "before restart: " + beforeRestart.summary(consumed));
        // Let the client move its in-memory offsets past the last acknowledged batch before shutting down.
        Await.quietPeriod(Duration.ofSeconds(1));
        consumer.shutdown();

        // Part two is stored but not consumed by the group.
        List<String> rest = send(producer, "rest", CONSUMED_BEFORE_RESTART,
                TOTAL_BEFORE_RESTART - CONSUMED_BEFORE_RESTART, maxOffsetByQueue);
        producer.shutdown();

        int exitCode = ferrocket.stopGracefully(Duration.ofSeconds(30));
        assertEquals(0, exitCode, "ferrocket should exit 0 after SIGTERM (graceful stop)");
        ferrocket.start();

        // Queue offsets continue where they were: the consume queues were recovered, not restarted at 0.
        DefaultMQProducer after = start(Clients.producer(ferrocket, "restart_producer_after"));
        Map<Integer, Long> offsetsBeforeRestart = new HashMap<>(maxOffsetByQueue);
        List<String> late = new ArrayList<>();
        for (int i = 0; i < SENT_AFTER_RESTART; i++) {
            String text = "late-" + i;
            SendResult result = after.send(new Message(TOPIC, "TagA", text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            int queueId = result.getMessageQueue().getQueueId();
            long expected = maxOffsetByQueue.getOrDefault(queueId, -1L) + 1;
            assertEquals(expected, result.getQueueOffset(), "queue " + queueId + " offset after restart (max "
                    + "offsets before restart " + offsetsBeforeRestart + "): " + result);
            maxOffsetByQueue.put(queueId, result.getQueueOffset());
            late.add(text);
        }

        // The same group resumes from its committed offsets: the rest, not the start.
        List<String> expectedResume = new ArrayList<>(rest);
        expectedResume.addAll(late);
        Received resumed = bodies();
        DefaultMQPushConsumer again = consumer(GROUP, resumed);
        Await.until(Duration.ofSeconds(60), () -> resumed.containsAll(expectedResume),
                () -> "same group after restart: " + resumed.summary(expectedResume));
        Await.quietPeriod(Duration.ofSeconds(1));
        again.shutdown();
        Set<String> redelivered = new HashSet<>(resumed.keys());
        redelivered.retainAll(consumed);
        assertTrue(redelivered.isEmpty(), redelivered.size() + " of the " + CONSUMED_BEFORE_RESTART
                + " messages consumed and committed before the restart were delivered again, e.g. "
                + new ArrayList<>(redelivered).subList(0, Math.min(5, redelivered.size()))
                + " (committed consumer offsets lost?)");

        // A new group starting from the first offset reads everything, old and new.
        List<String> everything = new ArrayList<>(consumed);
        everything.addAll(expectedResume);
        Received fresh = bodies();
        consumer("restart_fresh_group", fresh);
        Await.until(Duration.ofSeconds(60), () -> fresh.containsAll(everything),
                () -> "fresh group after restart: " + fresh.summary(everything));
    }

    private DefaultMQPushConsumer consumer(String group, Received received) throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener(received.listener());
        return start(consumer);
    }

    private static Received bodies() {
        return new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
    }

    private static List<String> send(DefaultMQProducer producer, String prefix, int from, int count,
                                     Map<Integer, Long> maxOffsetByQueue) throws Exception {
        List<String> sent = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String text = prefix + "-" + i;
            SendResult result = producer.send(new Message(TOPIC, "TagA", text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            maxOffsetByQueue.merge(result.getMessageQueue().getQueueId(), result.getQueueOffset(), Math::max);
            sent.add(text);
        }
        return sent;
    }
}
