package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.RecallReceipt;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RocketMQ 5 gRPC producer (rocketmq-client-java) sends NORMAL, FIFO and DELAY messages to
 * ferrocket's gRPC port, over TLS (the client's default) and over plaintext; a 4.9 remoting push consumer
 * receives each one with its tag, keys and properties.
 */
class GrpcProducerTest {
    private static final String NORMAL = "V5Normal";
    private static final String FIFO = "V5Fifo";
    private static final String DELAY = "V5Delay";
    private static final String PLAIN = "V5Plain";

    private static Standalone ferrocket;
    private static DefaultMQPushConsumer consumer;
    /** Received messages by message id (UNIQ_KEY, the id the v5 producer reports). */
    private static final Inbox RECEIVED = new Inbox();
    private static final Map<String, Long> RECEIVED_AT = new ConcurrentHashMap<>();
    private static final List<String> FIFO_ORDER = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        ferrocket = new Standalone(NORMAL, FIFO, DELAY, PLAIN);
        consumer = new DefaultMQPushConsumer("v5_interop_reader");
        consumer.setNamesrvAddr(ferrocket.nameServer());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        for (String topic : new String[] {NORMAL, FIFO, DELAY, PLAIN}) {
            consumer.subscribe(topic, "*");
        }
        consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
                (msgs, context) -> {
                    for (MessageExt m : msgs) {
                        String id = m.getProperty("UNIQ_KEY");
                        RECEIVED_AT.putIfAbsent(id, System.currentTimeMillis());
                        RECEIVED.add(m);
                        if (FIFO.equals(m.getTopic())) {
                            synchronized (FIFO_ORDER) {
                                FIFO_ORDER.add(new String(m.getBody(), StandardCharsets.UTF_8));
                            }
                        }
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
        consumer.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.shutdown();
        }
        if (ferrocket != null) {
            ferrocket.close();
        }
    }

    private static Producer producer(boolean tls, String... topics) throws Exception {
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
                .setEndpoints(ferrocket.grpcEndpoint())
                .enableSsl(tls)
                .setRequestTimeout(Duration.ofSeconds(5))
                .build();
        return ClientServiceProvider.loadService().newProducerBuilder()
                .setClientConfiguration(configuration)
                .setTopics(topics)
                .build();
    }

    @Test
    void tlsProducerSendsNormalMessagesWithTagKeysAndProperties() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        try (Producer producer = producer(true, NORMAL)) {
            Message message = provider.newMessageBuilder()
                    .setTopic(NORMAL)
                    .setTag("TagA")
                    .setKeys("order-1", "customer-7")
                    .addProperty("color", "red")
                    .addProperty("size", "XL")
                    .setBody("hello over gRPC".getBytes(StandardCharsets.UTF_8))
                    .build();
            SendReceipt receipt = producer.send(message);
            String id = receipt.getMessageId().toString();
            MessageExt received = RECEIVED.await(id, 30_000);
            assertEquals("TagA", received.getTags());
            assertEquals("order-1 customer-7", received.getKeys());
            assertEquals("red", received.getUserProperty("color"));
            assertEquals("XL", received.getUserProperty("size"));
            assertEquals("hello over gRPC", new String(received.getBody(), StandardCharsets.UTF_8));
            assertEquals(id, received.getMsgId());
        }
    }

    @Test
    void tlsProducerSendsFifoMessagesOfOneGroupToOneQueueInOrder() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        List<String> ids = new ArrayList<>();
        try (Producer producer = producer(true, FIFO)) {
            for (int i = 0; i < 5; i++) {
                Message message = provider.newMessageBuilder()
                        .setTopic(FIFO)
                        .setMessageGroup("group-42")
                        .setBody(("fifo-" + i).getBytes(StandardCharsets.UTF_8))
                        .build();
                ids.add(producer.send(message).getMessageId().toString());
            }
        }
        int queue = -1;
        long previousOffset = -1;
        for (String id : ids) {
            MessageExt m = RECEIVED.await(id, 30_000);
            assertEquals("group-42", m.getProperty("__SHARDINGKEY"));
            queue = queue < 0 ? m.getQueueId() : queue;
            assertEquals(queue, m.getQueueId(), "one message group, one queue");
            assertTrue(m.getQueueOffset() > previousOffset, "stored in send order");
            previousOffset = m.getQueueOffset();
        }
    }

    @Test
    void tlsProducerSendsDelayMessagesDeliveredNoEarlierThanTheirTimestamp() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        try (Producer producer = producer(true, DELAY)) {
            long deliverAt = System.currentTimeMillis() + 3_000;
            Message message = provider.newMessageBuilder()
                    .setTopic(DELAY)
                    .setTag("Later")
                    .setDeliveryTimestamp(deliverAt)
                    .setBody("delayed".getBytes(StandardCharsets.UTF_8))
                    .build();
            String id = producer.send(message).getMessageId().toString();
            MessageExt m = RECEIVED.await(id, 30_000);
            assertTrue(RECEIVED_AT.get(id) >= deliverAt - 100,
                    "delivered " + (deliverAt - RECEIVED_AT.get(id)) + " ms early");
            assertEquals(String.valueOf(deliverAt), m.getProperty("TIMER_DELIVER_MS"));
            assertEquals("Later", m.getTags());
        }
    }

    private static Message delayed(ClientServiceProvider provider, String tag, long deliverAt) {
        return provider.newMessageBuilder()
                .setTopic(DELAY)
                .setTag(tag)
                .setDeliveryTimestamp(deliverAt)
                .setBody(tag.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    @Test
    void recalledDelayMessageIsNeverDelivered() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        try (Producer producer = producer(true, DELAY)) {
            long deliverAt = System.currentTimeMillis() + 3_000;
            SendReceipt receipt = producer.send(delayed(provider, "Recalled", deliverAt));
            String keptId = producer.send(delayed(provider, "Kept", deliverAt)).getMessageId().toString();
            String id = receipt.getMessageId().toString();
            assertNotNull(receipt.getRecallHandle(), "a delay message's send returns a recall handle");
            RecallReceipt recall = producer.recallMessage(DELAY, receipt.getRecallHandle());
            assertEquals(id, recall.getMessageId().toString());
            RECEIVED.await(keptId, 30_000);
            TimeUnit.SECONDS.sleep(2);
            assertNull(RECEIVED.get(id), "a recalled message was delivered");
        }
    }

    @Test
    void plaintextProducerSends() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        try (Producer producer = producer(false, PLAIN)) {
            Message message = provider.newMessageBuilder()
                    .setTopic(PLAIN)
                    .setKeys("plain-key")
                    .setBody("no TLS".getBytes(StandardCharsets.UTF_8))
                    .build();
            String id = producer.send(message).getMessageId().toString();
            MessageExt m = RECEIVED.await(id, 30_000);
            assertNotNull(m);
            assertEquals("plain-key", m.getKeys());
        }
    }
}
