package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.BrokerQueries;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Consumer retries: RECONSUME_LATER or an exception sends the message back (CONSUMER_SEND_MSG_BACK) to
 * %RETRY%group at delay level 3 + reconsumeTimes; after maxReconsumeTimes it lands in %DLQ%group, which a consumer
 * can read and whose messages can be produced again to the original topic.
 */
class RetryAndDlqTest extends FerrocketTestBase {
    /** ScheduleMessageService's topic; delay level L is queue L - 1. */
    private static final String SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX";
    private static final int DELAY_LEVELS = 18;

    @Override
    protected BrokerConf brokerConf() {
        // Every delay level 1 s, so sixteen retries take seconds instead of hours.
        return BrokerConf.defaults().set("messageDelayLevel", String.join(" ", java.util.Collections.nCopies(
                DELAY_LEVELS, "1s")));
    }

    @Test
    @Timeout(180)
    void sixteenRetriesAtGrowingDelayLevelsThenDeadLetterQueueReadableAndResendable() throws Exception {
        String topic = "RetryDefaultTopic";
        String group = "retry_default_group";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "retry_default_producer"));
        prepareRetryTopic(topic, group);
        long[] scheduledBefore = scheduleQueueSizes();
        send(producer, topic, "poison");

        List<Integer> attempts = new CopyOnWriteArrayList<>();
        List<Long> attemptTimes = new CopyOnWriteArrayList<>();
        Received resent = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            for (MessageExt m : messages) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (body.equals("poison")) {
                    attempts.add(m.getReconsumeTimes());
                    attemptTimes.add(System.currentTimeMillis());
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
                resent.add(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        start(consumer);

        // The client's default maxReconsumeTimes is 16: the first delivery plus sixteen retries.
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i <= 16; i++) {
            expected.add(i);
        }
        Await.until(Duration.ofSeconds(120), () -> attempts.size() >= expected.size(),
                () -> "reconsumeTimes seen so far " + attempts);
        Received dead = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        List<MessageExt> deadMessages = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer dlqReader = Clients.pushConsumer(ferrocket, "retry_dlq_reader");
        dlqReader.subscribe("%DLQ%" + group, "*");
        dlqReader.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            messages.forEach(dead::add);
            deadMessages.addAll(messages);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        start(dlqReader);
        Await.until(Duration.ofSeconds(60), () -> dead.containsAll(List.of("poison")),
                () -> "the message never reached %DLQ%" + group + "; reconsumeTimes seen " + attempts);
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(expected, attempts, "one delivery per attempt with reconsumeTimes 0..16, none after");
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < attemptTimes.size(); i++) {
            gaps.add(attemptTimes.get(i) - attemptTimes.get(i - 1));
        }
        System.out.println("retry: milliseconds between attempts " + gaps);

        // Each retry was scheduled at delay level 3 + reconsumeTimes: levels 3..18, one message each.
        long[] scheduledAfter = scheduleQueueSizes();
        for (int level = 3; level <= DELAY_LEVELS; level++) {
            assertEquals(1, scheduledAfter[level - 1] - scheduledBefore[level - 1],
                    "messages scheduled at delay level " + level);
        }
        MessageExt deadOne = deadMessages.get(0);
        assertEquals(topic, deadOne.getProperty("RETRY_TOPIC"), "the dead letter names its original topic");
        assertEquals(17, deadOne.getReconsumeTimes());

        // Resend it to the original topic: the group consumes it like any new message.
        Message again = new Message(topic, "resent".getBytes(StandardCharsets.UTF_8));
        again.putUserProperty("ORIGINAL_MSG_ID", deadOne.getMsgId());
        assertEquals(SendStatus.SEND_OK, producer.send(again).getSendStatus());
        Await.until(Duration.ofSeconds(30), () -> resent.containsAll(List.of("resent")),
                () -> "resent dead letter not consumed");
        assertEquals(deadOne.getMsgId(), resent.deliveries("resent").get(0).getUserProperty("ORIGINAL_MSG_ID"));
    }

    @Test
    @Timeout(120)
    void exceptionsAreRetriedUpToTheClientsMaxReconsumeTimes() throws Exception {
        String topic = "RetryExceptionTopic";
        String group = "retry_exception_group";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "retry_exception_producer"));
        prepareRetryTopic(topic, group);
        send(producer, topic, "boom");
        send(producer, topic, "flaky");

        Map<String, List<Integer>> attempts = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.setMaxReconsumeTimes(2);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            for (MessageExt m : messages) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (body.equals("warm-up")) {
                    continue;
                }
                attempts.computeIfAbsent(body, k -> new CopyOnWriteArrayList<>()).add(m.getReconsumeTimes());
                if (body.equals("boom") || m.getReconsumeTimes() < 2) {
                    throw new IllegalStateException("listener failure for " + body);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        start(consumer);

        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            Await.until(Duration.ofSeconds(60), () -> {
                try {
                    return broker.maxOffset("%DLQ%" + group, 0) == 1;
                } catch (Exception e) {
                    return false;
                }
            }, () -> "%DLQ%" + group + " did not receive the failing message; attempts " + attempts);
            Await.quietPeriod(Duration.ofSeconds(3));
            assertEquals(List.of(0, 1, 2), attempts.get("boom"), "boom: maxReconsumeTimes 2 then the DLQ");
            assertEquals(List.of(0, 1, 2), attempts.get("flaky"), "flaky succeeded on its third delivery");
            assertEquals(1, broker.maxOffset("%DLQ%" + group, 0), "only the message that never succeeded");
        }
    }

    /**
     * The broker creates %RETRY%group when the group's first heartbeat arrives, after that client looked the
     * route up; the client would only find the topic on its next route poll and rebalance (20-30 s later).
     * A short-lived member of the group creates it first, so the consumer under test sees it at once.
     */
    private void prepareRetryTopic(String topic, String group) throws Exception {
        DefaultMQProducer creator = start(Clients.producer(ferrocket, group + "_topic_creator"));
        send(creator, topic, "warm-up");
        awaitRoute(ferrocket, topic);
        DefaultMQPushConsumer member = Clients.pushConsumer(ferrocket, group);
        member.subscribe(topic, "*");
        member.registerMessageListener((MessageListenerConcurrently) (messages, context) ->
                ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
        start(member);
        awaitRoute(ferrocket, "%RETRY%" + group);
        member.shutdown();
    }

    private static void send(DefaultMQProducer producer, String topic, String body) throws Exception {
        SendResult r = producer.send(new Message(topic, body.getBytes(StandardCharsets.UTF_8)));
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());
    }

    private long[] scheduleQueueSizes() throws Exception {
        long[] sizes = new long[DELAY_LEVELS];
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            for (int q = 0; q < DELAY_LEVELS; q++) {
                sizes[q] = Math.max(0, broker.maxOffset(SCHEDULE_TOPIC, q));
            }
        }
        return sizes;
    }
}
