package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerQueries;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Batch sends and their limits, transparent zlib compression of bodies over compressMsgBodyOverHowmuch (4 KiB),
 * and user properties (many, unicode) round-tripping through the broker.
 */
class BatchAndCompressionTest extends FerrocketTestBase {
    /** MessageSysFlag.COMPRESSED_FLAG. */
    private static final int COMPRESSED_FLAG = 0x1;
    /** DefaultMQProducer's default maxMessageSize and the broker's default maxMessageSize. */
    private static final int FOUR_MIB = 4 * 1024 * 1024;

    @Test
    @Timeout(120)
    void batchWithPropertiesAndCompressedSinglesRoundTrip() throws Exception {
        String topic = "BatchCompressTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "batch_producer"));
        Map<String, String> props = properties();

        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            Message m = new Message(topic, "TagB", "batch-" + i, ("batch-" + i).getBytes(StandardCharsets.UTF_8));
            props.forEach(m::putUserProperty);
            batch.add(m);
        }
        SendResult batchResult = producer.send(batch);
        assertEquals(SendStatus.SEND_OK, batchResult.getSendStatus());
        assertEquals(32, batchResult.getMsgId().split(",").length, "one message id per batched message");

        // Single messages: one under and one over 4 KiB (the client compresses the latter with zlib).
        byte[] small = body("small-", 1024);
        byte[] large = body("large-", 64 * 1024);
        List<String> offsetIds = new ArrayList<>();
        for (byte[] b : List.of(small, large)) {
            Message m = new Message(topic, "TagS", b);
            props.forEach(m::putUserProperty);
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            offsetIds.add(r.getOffsetMsgId());
        }
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            assertEquals(0, broker.storedSysFlag(offsetIds.get(0)) & COMPRESSED_FLAG,
                    "a 1 KiB body is not compressed");
            assertEquals(COMPRESSED_FLAG, broker.storedSysFlag(offsetIds.get(1)) & COMPRESSED_FLAG,
                    "the broker keeps the COMPRESSED sysflag of a body over 4 KiB");
        }

        Received received = new Received(m -> new String(m.getBody(), 0, 6, StandardCharsets.UTF_8)
                + (m.getTags().equals("TagB") ? new String(m.getBody(), StandardCharsets.UTF_8) : ""));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "batch_consumer");
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            expected.add("batch-batch-" + i);
        }
        expected.add("small-");
        expected.add("large-");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(expected), () -> received.summary(expected));

        for (String key : expected) {
            MessageExt m = received.deliveries(key).get(0);
            props.forEach((k, v) -> assertEquals(v, m.getUserProperty(k), key + ": user property " + k));
        }
        MessageExt smallOne = received.deliveries("small-").get(0);
        MessageExt largeOne = received.deliveries("large-").get(0);
        assertArrayEquals(small, smallOne.getBody());
        assertArrayEquals(large, largeOne.getBody(), "compressed body delivered decompressed");
        assertTrue(largeOne.getStoreSize() < large.length, "stored size " + largeOne.getStoreSize()
                + " shows the body was stored compressed");
        assertEquals("batch-7", received.deliveries("batch-batch-7").get(0).getKeys());
    }

    @Test
    @Timeout(60)
    void batchLimitsAreEnforced() throws Exception {
        String topic = "BatchLimitTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "batch_limit_producer"));
        producer.send(new Message(topic, "x".getBytes(StandardCharsets.UTF_8)));

        // Over 4 MiB in total: the client refuses it before sending.
        List<Message> huge = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            huge.add(new Message(topic, new byte[1024 * 1024]));
        }
        MQClientException tooBig = assertThrows(MQClientException.class, () -> producer.send(huge));
        assertEquals(13, tooBig.getResponseCode(), tooBig.toString());

        // A client that allows larger batches: the broker refuses it against its own maxMessageSize (4 MiB).
        DefaultMQProducer lax = Clients.producer(ferrocket, "batch_lax_producer");
        lax.setMaxMessageSize(3 * FOUR_MIB);
        start(lax);
        List<Message> overBroker = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            overBroker.add(new Message(topic, new byte[1024 * 1024]));
        }
        Exception refused = assertThrows(Exception.class, () -> lax.send(overBroker));
        assertTrue(refused instanceof MQBrokerException || refused instanceof MQClientException,
                "unexpected " + refused);
        int code = refused instanceof MQBrokerException ? ((MQBrokerException) refused).getResponseCode()
                : ((MQClientException) refused).getResponseCode();
        assertEquals(13, code, "MESSAGE_ILLEGAL expected: " + refused);

        // Mixed topics and delayed messages cannot be batched (client-side rules).
        List<Message> mixed = List.of(new Message(topic, "a".getBytes(StandardCharsets.UTF_8)),
                new Message(topic + "Other", "b".getBytes(StandardCharsets.UTF_8)));
        MQClientException mixedTopics = assertThrows(MQClientException.class, () -> producer.send(mixed));
        assertTrue(String.valueOf(mixedTopics.getCause()).contains("topic"), mixedTopics.toString());
        Message delayed = new Message(topic, "d".getBytes(StandardCharsets.UTF_8));
        delayed.setDelayTimeLevel(2);
        List<Message> withDelay = List.of(new Message(topic, "a".getBytes(StandardCharsets.UTF_8)), delayed);
        MQClientException delayRefused = assertThrows(MQClientException.class, () -> producer.send(withDelay));
        assertTrue(String.valueOf(delayRefused.getCause()).toLowerCase().contains("delay"), delayRefused.toString());
    }

    private static Map<String, String> properties() {
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            props.put("prop" + i, "value-" + i);
        }
        props.put("unicode", "värde 日本語 🚀 ünïcödé");
        props.put("order-id", "Ωμέγα-42");
        return props;
    }

    private static byte[] body(String prefix, int size) {
        byte[] b = new byte[size];
        byte[] p = prefix.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(p, 0, b, 0, p.length);
        for (int i = p.length; i < size; i++) {
            b[i] = (byte) ('a' + (i * 31 % 26));
        }
        return Arrays.copyOf(b, size);
    }
}
