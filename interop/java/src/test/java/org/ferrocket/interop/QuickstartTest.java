package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The RocketMQ quickstart: synchronous sends to a new (auto-created) topic, then a clustering push consumer
 * reading from the first offset.
 */
class QuickstartTest extends FerrocketTestBase {
    private static final String TOPIC = "QuickstartTopic";
    private static final int COUNT = 1000;
    private static final String[] TAGS = {"TagA", "TagB", "TagC", "TagD"};
    /** Client default defaultTopicQueueNums (4) is below the broker's TBW102 queue count (8). */
    private static final int EXPECTED_QUEUES = 4;

    @Test
    @Timeout(180)
    void syncSendsAreConsumedExactlyOnceWithAllFieldsIntact() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "quickstart_producer"));

        Map<String, Message> sentById = new LinkedHashMap<>();
        Map<String, SendResult> resultById = new HashMap<>();
        Map<Integer, Long> lastOffsetByQueue = new HashMap<>();
        for (int i = 0; i < COUNT; i++) {
            Message message = new Message(TOPIC, TAGS[i % TAGS.length], "KEY-" + i + " ORDER-" + (i / 10), body(i));
            message.putUserProperty("seq", String.valueOf(i));
            message.putUserProperty("note", "grüße-" + i);
            SendResult result = producer.send(message);

            String context = "send #" + i + " " + result;
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), context);
            assertEquals(MessageClientIDSetter.getUniqID(message), result.getMsgId(),
                    "SendResult.msgId must be the client-generated UNIQ_KEY; " + context);
            assertTrue(result.getOffsetMsgId() != null && !result.getOffsetMsgId().isEmpty(),
                    "offsetMsgId (response header msgId) must be set; " + context);
            assertEquals(TOPIC, result.getMessageQueue().getTopic(), context);
            assertEquals("broker-a", result.getMessageQueue().getBrokerName(), context);
            int queueId = result.getMessageQueue().getQueueId();
            assertTrue(queueId >= 0 && queueId < EXPECTED_QUEUES, "queueId out of range; " + context);
            long expectedOffset = lastOffsetByQueue.getOrDefault(queueId, -1L) + 1;
            assertEquals(expectedOffset, result.getQueueOffset(),
                    "queueOffset must grow by one per message within queue " + queueId + "; " + context);
            lastOffsetByQueue.put(queueId, result.getQueueOffset());
            sentById.put(result.getMsgId(), message);
            resultById.put(result.getMsgId(), result);
        }
        assertEquals(EXPECTED_QUEUES, lastOffsetByQueue.size(),
                "the producer spreads sends over all queues of the auto-created topic: " + lastOffsetByQueue);
        awaitRoute(ferrocket, TOPIC);

        Received received = Received.byMsgId();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "quickstart_consumer");
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);

        Await.until(Duration.ofSeconds(60), () -> received.containsAll(sentById.keySet()),
                () -> received.summary(sentById.keySet()));
        Await.quietPeriod(Duration.ofMillis(1500));
        consumer.shutdown();

        assertEquals(sentById.keySet(), received.keys(), "consumer must see exactly the sent msgIds");
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Message> entry : sentById.entrySet()) {
            List<MessageExt> deliveries = received.deliveries(entry.getKey());
            if (deliveries.size() != 1) {
                problems.add(entry.getKey() + " delivered " + deliveries.size() + " times");
                continue;
            }
            compare(entry.getValue(), resultById.get(entry.getKey()), deliveries.get(0), problems);
        }
        assertTrue(problems.isEmpty(), problems.size() + " problems, first ones:\n"
                + String.join("\n", problems.subList(0, Math.min(20, problems.size()))));
    }

    private void compare(Message sent, SendResult result, MessageExt got, List<String> problems) {
        String id = result.getMsgId();
        check(problems, id, "topic", TOPIC, got.getTopic());
        check(problems, id, "tags", sent.getTags(), got.getTags());
        check(problems, id, "keys", sent.getKeys(), got.getKeys());
        check(problems, id, "user property seq", sent.getUserProperty("seq"), got.getUserProperty("seq"));
        check(problems, id, "user property note", sent.getUserProperty("note"), got.getUserProperty("note"));
        check(problems, id, "msgId (UNIQ_KEY)", id, got.getMsgId());
        check(problems, id, "queueId", result.getMessageQueue().getQueueId(), got.getQueueId());
        check(problems, id, "queueOffset", result.getQueueOffset(), got.getQueueOffset());
        check(problems, id, "reconsumeTimes", 0, got.getReconsumeTimes());
        if (!Arrays.equals(sent.getBody(), got.getBody())) {
            problems.add(id + " body differs: sent " + sent.getBody().length + " bytes, got "
                    + (got.getBody() == null ? "null" : got.getBody().length + " bytes"));
        }
        if (got instanceof MessageClientExt) {
            check(problems, id, "offsetMsgId", result.getOffsetMsgId(), ((MessageClientExt) got).getOffsetMsgId());
        }
        if (got.getStoreHost() instanceof InetSocketAddress) {
            check(problems, id, "storeHost port", ferrocket.brokerPort(),
                    ((InetSocketAddress) got.getStoreHost()).getPort());
        }
        if (got.getBornTimestamp() <= 0 || got.getStoreTimestamp() <= 0) {
            problems.add(id + " timestamps not set: born " + got.getBornTimestamp() + ", store "
                    + got.getStoreTimestamp());
        }
    }

    private static void check(List<String> problems, String id, String field, Object expected, Object actual) {
        if (!Objects.equals(expected, actual)) {
            problems.add(id + " " + field + ": expected <" + expected + "> but was <" + actual + ">");
        }
    }

    /**
     * Text plus every byte value, so that encoding mistakes in the body show up. Every 100th body is larger than
     * the client's compression threshold (4 KiB), so it travels and is stored zlib-compressed.
     */
    private static byte[] body(int i) {
        byte[] text = ("Hello RocketMQ " + i + " ").getBytes(StandardCharsets.UTF_8);
        int extra = i % 100 == 7 ? 10_000 : 256 + i % 64;
        byte[] body = new byte[text.length + extra];
        System.arraycopy(text, 0, body, 0, text.length);
        for (int b = text.length; b < body.length; b++) {
            body[b] = (byte) (b * 7 + i);
        }
        return body;
    }
}
