package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RocketMQ 5 POP consumption on the remoting port: a push consumer with {@code setClientRebalance(false)} whose
 * topic and group were switched to POP (SET_MESSAGE_REQUEST_MODE) is assigned queues by QUERY_ASSIGNMENT and
 * pops, acks and changes invisible time; the broker re-delivers what was not acknowledged, also after a kill.
 *
 * <p>Only the 5.x client has the POP path; with the 4.9.x client every test is reported skipped with the reason.
 * The 5.x-only setters are called reflectively so the class compiles against both client lines.
 */
class PopConsumptionTest extends FerrocketTestBase {
    private static final String CLIENT_VERSION = System.getProperty("interop.client.version", "5");
    private static final int SET_MESSAGE_REQUEST_MODE = 401;

    @BeforeEach
    void requireClient5() {
        String reason = "POP consumption needs the RocketMQ 5.x client (DefaultMQPushConsumer.setClientRebalance); "
                + "client " + CLIENT_VERSION + " has no POP path, so this test is skipped";
        if (!CLIENT_VERSION.startsWith("5")) {
            // Surefire's summary shows only the count of skipped tests; say why in the output too
            System.out.println("PopConsumptionTest: " + reason);
        }
        assumeTrue(CLIENT_VERSION.startsWith("5"), reason);
    }

    @Test
    @Timeout(120)
    void popConsumerReceivesEveryMessageOnce() throws Exception {
        String topic = "PopTopic";
        String group = "pop_group";
        List<String> sent = send(topic, "pop", 40);
        setPopMode(topic, group);
        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        start(popConsumer(group, topic, 60_000, received.listener()));
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(sent), () -> received.summary(sent));
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(0, received.duplicates(), "deliveries: " + received.summary(sent));
        for (String key : sent) {
            MessageExt m = received.deliveries(key).get(0);
            assertNotNull(m.getProperty("POP_CK"), "message delivered without a POP_CK handle (pulled, not popped?): "
                    + m);
        }
    }

    @Test
    @Timeout(120)
    void brokerAssignedConsumerPullsWhenTheModeIsPull() throws Exception {
        String topic = "PopPullModeTopic";
        String group = "pop_pull_mode_group";
        List<String> sent = send(topic, "pulled", 20);
        // no SET_MESSAGE_REQUEST_MODE: QUERY_ASSIGNMENT answers PULL with this client's share of the queues
        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        start(popConsumer(group, topic, 60_000, received.listener()));
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(sent), () -> received.summary(sent));
        for (String key : sent) {
            MessageExt m = received.deliveries(key).get(0);
            assertNull(m.getProperty("POP_CK"), "PULL mode, yet the message came with a POP_CK handle: " + m);
        }
    }

    @Test
    @Timeout(150)
    void unacknowledgedMessageComesBackWithGrowingReconsumeTimes() throws Exception {
        String topic = "PopRetryTopic";
        String group = "pop_retry_group";
        send(topic, "again", 1);
        setPopMode(topic, group);
        List<Integer> reconsumeTimes = new CopyOnWriteArrayList<>();
        MessageListenerConcurrently failTwice = (msgs, context) -> {
            msgs.forEach(m -> reconsumeTimes.add(m.getReconsumeTimes()));
            return reconsumeTimes.size() <= 2 ? ConsumeConcurrentlyStatus.RECONSUME_LATER
                    : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        start(popConsumer(group, topic, 60_000, failTwice));
        // the client asks for the message back after 10 s, then after 30 s (popDelayLevel)
        Await.until(Duration.ofSeconds(100), () -> reconsumeTimes.size() >= 3,
                () -> "deliveries so far, by reconsumeTimes: " + reconsumeTimes);
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(List.of(0, 1, 2), new ArrayList<>(reconsumeTimes),
                "reconsumeTimes of each delivery (acknowledged on the third)");
    }

    @Test
    @Timeout(180)
    void poppedMessageComesBackAfterKill() throws Exception {
        String topic = "PopKillTopic";
        String group = "pop_kill_group";
        List<String> sent = send(topic, "survivor", 1);
        setPopMode(topic, group);
        CountDownLatch popped = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        MessageListenerConcurrently holdWithoutAck = (msgs, context) -> {
            popped.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        };
        DefaultMQPushConsumer first = start(popConsumer(group, topic, 10_000, holdWithoutAck));
        assertTrue(popped.await(60, TimeUnit.SECONDS), "the message was never popped");
        // long enough for the group's offset to be written past the message: only the checkpoint brings it back
        Thread.sleep(7_000);
        ferrocket.destroyForcibly();
        first.shutdown();
        release.countDown();

        ferrocket.start();
        Map<String, List<Integer>> after = new ConcurrentHashMap<>();
        AtomicInteger deliveries = new AtomicInteger();
        MessageListenerConcurrently record = (msgs, context) -> {
            msgs.forEach(m -> after.computeIfAbsent(new String(m.getBody(), StandardCharsets.UTF_8),
                    k -> new CopyOnWriteArrayList<>()).add(m.getReconsumeTimes()));
            deliveries.addAndGet(msgs.size());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        start(popConsumer(group, topic, 10_000, record));
        Await.until(Duration.ofSeconds(90), () -> after.keySet().containsAll(sent),
                () -> "after the kill and restart the popped, unacknowledged message did not come back; got " + after);
        assertTrue(after.get(sent.get(0)).get(0) >= 1,
                "expected a re-delivery (reconsumeTimes >= 1), got " + after);
    }

    /** Sends {@code count} messages with bodies prefix-0, prefix-1, ... and waits for the topic's route. */
    private List<String> send(String topic, String prefix, int count) throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, topic + "_producer"));
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String body = prefix + "-" + i;
            SendResult result = producer.send(new Message(topic, "TagA", body.getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            sent.add(body);
        }
        awaitRoute(ferrocket, topic);
        return sent;
    }

    /** Switches the topic and group to POP, as {@code mqadmin setConsumeMode -m POP} does. */
    private void setPopMode(String topic, String group) throws Exception {
        String body = "{\"topic\":\"" + topic + "\",\"consumerGroup\":\"" + group
                + "\",\"mode\":\"POP\",\"popShareQueueNum\":0}";
        try (RawRemoting raw = new RawRemoting()) {
            RemotingCommand response = raw.invoke(ferrocket.brokerAddress(), SET_MESSAGE_REQUEST_MODE, Map.of(),
                    body.getBytes(StandardCharsets.UTF_8));
            assertEquals(RawRemoting.SUCCESS, response.getCode(), "SET_MESSAGE_REQUEST_MODE: " + response);
        }
    }

    /** A push consumer that lets the broker assign its queues (5.x only, hence reflection). */
    private DefaultMQPushConsumer popConsumer(String group, String topic, long invisibleMillis,
                                              MessageListenerConcurrently listener) throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.getClass().getMethod("setClientRebalance", boolean.class).invoke(consumer, false);
        consumer.getClass().getMethod("setPopInvisibleTime", long.class).invoke(consumer, invisibleMillis);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(listener);
        return consumer;
    }
}
