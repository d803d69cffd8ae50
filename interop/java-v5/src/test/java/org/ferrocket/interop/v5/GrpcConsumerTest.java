package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RocketMQ 5 gRPC consumers (rocketmq-client-java) on ferrocket's gRPC port: a SimpleConsumer
 * receives, acknowledges, changes a message's invisible duration and gets unacknowledged messages back;
 * TAG and SQL92 filters; a PushConsumer consumes; a 4.9 remoting producer's message reaches the
 * SimpleConsumer with its tag, keys and properties.
 */
class GrpcConsumerTest {
    private static final String SIMPLE = "V5Simple";
    private static final String INVISIBLE = "V5Invisible";
    private static final String FILTER = "V5Filter";
    private static final String PUSH = "V5Push";
    private static final String REMOTING = "V5FromRemoting";
    private static final String FIFO = "V5FifoConsume";
    private static final String FIFO_GROUP = "v5_fifo";
    /** The shortest invisible duration a receive may ask for. */
    private static final Duration INVISIBLE_MIN = Duration.ofSeconds(10);

    private static Standalone ferrocket;
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    @BeforeAll
    static void start() throws Exception {
        ferrocket = Standalone.withOrderlyGroups("enablePropertyFilter=true\nreviveInterval=100\n",
                new String[] {FIFO_GROUP}, SIMPLE, INVISIBLE, FILTER, PUSH, REMOTING, FIFO);
    }

    @AfterAll
    static void stop() throws Exception {
        if (ferrocket != null) {
            ferrocket.close();
        }
    }

    private static ClientConfiguration configuration() {
        return ClientConfiguration.newBuilder()
                .setEndpoints(ferrocket.grpcEndpoint())
                .enableSsl(false)
                .setRequestTimeout(Duration.ofSeconds(5))
                .build();
    }

    private static SimpleConsumer simpleConsumer(String group, String topic, FilterExpression filter)
            throws Exception {
        return PROVIDER.newSimpleConsumerBuilder()
                .setClientConfiguration(configuration())
                .setConsumerGroup(group)
                .setAwaitDuration(Duration.ofSeconds(5))
                .setSubscriptionExpressions(Collections.singletonMap(topic, filter))
                .build();
    }

    private static String send(String topic, String tag, String body, String color) throws Exception {
        try (Producer producer = PROVIDER.newProducerBuilder()
                .setClientConfiguration(configuration())
                .setTopics(topic)
                .build()) {
            Message message = PROVIDER.newMessageBuilder()
                    .setTopic(topic)
                    .setTag(tag)
                    .setKeys("key-" + body)
                    .addProperty("color", color)
                    .setBody(body.getBytes(StandardCharsets.UTF_8))
                    .build();
            return producer.send(message).getMessageId().toString();
        }
    }

    /** Receives until {@code want} messages came or {@code timeoutMillis} passed. */
    private static List<MessageView> receive(SimpleConsumer consumer, int want, long timeoutMillis)
            throws Exception {
        List<MessageView> all = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (all.size() < want && System.currentTimeMillis() < deadline) {
            all.addAll(consumer.receive(16, INVISIBLE_MIN));
        }
        return all;
    }

    /** Receives exactly one message within 30 s. */
    private static MessageView receiveOne(SimpleConsumer consumer) throws Exception {
        List<MessageView> got = receive(consumer, 1, 30_000);
        assertEquals(1, got.size(), "received " + got);
        return got.get(0);
    }

    private static String body(MessageView view) {
        return StandardCharsets.UTF_8.decode(view.getBody().duplicate()).toString();
    }

    @Test
    void simpleConsumerReceivesAcksAndGetsAnUnackedMessageBack() throws Exception {
        String id = send(SIMPLE, "TagA", "simple-1", "red");
        try (SimpleConsumer consumer = simpleConsumer("v5_simple", SIMPLE, FilterExpression.SUB_ALL)) {
            MessageView view = receiveOne(consumer);
            assertEquals(id, view.getMessageId().toString());
            assertEquals("TagA", view.getTag().orElse(null));
            assertEquals(Collections.singletonList("key-simple-1"), new ArrayList<>(view.getKeys()));
            assertEquals("red", view.getProperties().get("color"));
            assertEquals("simple-1", body(view));
            assertEquals(1, view.getDeliveryAttempt());
            // not acknowledged: back after its invisible duration, one attempt further
            List<MessageView> again = receive(consumer, 1, 40_000);
            assertEquals(1, again.size());
            assertEquals(id, again.get(0).getMessageId().toString());
            assertEquals(2, again.get(0).getDeliveryAttempt());
            consumer.ack(again.get(0));
            assertTrue(consumer.receive(16, INVISIBLE_MIN).isEmpty(), "an acknowledged message came back");
        }
    }

    @Test
    void changeInvisibleDurationBringsTheMessageBackSooner() throws Exception {
        String id = send(INVISIBLE, "TagA", "invisible-1", "red");
        try (SimpleConsumer consumer = simpleConsumer("v5_invisible", INVISIBLE, FilterExpression.SUB_ALL)) {
            MessageView view = receiveOne(consumer);
            long changedAt = System.currentTimeMillis();
            consumer.changeInvisibleDuration(view, Duration.ofSeconds(1));
            List<MessageView> again = receive(consumer, 1, 20_000);
            assertEquals(1, again.size());
            assertEquals(id, again.get(0).getMessageId().toString());
            assertTrue(System.currentTimeMillis() - changedAt < INVISIBLE_MIN.toMillis(),
                    "the message came back only after its first invisible duration");
            consumer.ack(again.get(0));
        }
    }

    @Test
    void tagAndSqlFiltersSelectTheirMessages() throws Exception {
        String red = send(FILTER, "TagA", "filter-red", "red");
        String blue = send(FILTER, "TagB", "filter-blue", "blue");
        FilterExpression tagB = new FilterExpression("TagB", FilterExpressionType.TAG);
        try (SimpleConsumer consumer = simpleConsumer("v5_filter_tag", FILTER, tagB)) {
            MessageView view = receiveOne(consumer);
            assertEquals(blue, view.getMessageId().toString());
            consumer.ack(view);
        }
        FilterExpression sql = new FilterExpression("color = 'red'", FilterExpressionType.SQL92);
        try (SimpleConsumer consumer = simpleConsumer("v5_filter_sql", FILTER, sql)) {
            MessageView view = receiveOne(consumer);
            assertEquals(red, view.getMessageId().toString());
            consumer.ack(view);
        }
    }

    @Test
    void pushConsumerConsumesEveryMessage() throws Exception {
        Set<String> consumed = ConcurrentHashMap.newKeySet();
        try (PushConsumer consumer = PROVIDER.newPushConsumerBuilder()
                .setClientConfiguration(configuration())
                .setConsumerGroup("v5_push")
                .setSubscriptionExpressions(Collections.singletonMap(PUSH, FilterExpression.SUB_ALL))
                .setMessageListener(view -> {
                    consumed.add(view.getMessageId().toString());
                    return ConsumeResult.SUCCESS;
                })
                .build()) {
            Set<String> sent = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                sent.add(send(PUSH, "TagA", "push-" + i, "red"));
            }
            long deadline = System.currentTimeMillis() + 30_000;
            while (!consumed.containsAll(sent) && System.currentTimeMillis() < deadline) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
            assertTrue(consumed.containsAll(sent), "consumed " + consumed + " of " + sent);
        }
    }

    @Test
    void fifoGroupConsumesAMessageGroupInSendOrder() throws Exception {
        List<String> sent = new ArrayList<>();
        try (Producer producer = PROVIDER.newProducerBuilder()
                .setClientConfiguration(configuration())
                .setTopics(FIFO)
                .build()) {
            for (int i = 0; i < 4; i++) {
                Message message = PROVIDER.newMessageBuilder()
                        .setTopic(FIFO)
                        .setMessageGroup("order-9")
                        .setBody(("fifo-" + i).getBytes(StandardCharsets.UTF_8))
                        .build();
                sent.add(producer.send(message).getMessageId().toString());
            }
        }
        try (SimpleConsumer consumer = simpleConsumer(FIFO_GROUP, FIFO, FilterExpression.SUB_ALL)) {
            List<String> received = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 60_000;
            while (received.size() < sent.size() && System.currentTimeMillis() < deadline) {
                for (MessageView view : consumer.receive(1, INVISIBLE_MIN)) {
                    assertEquals("order-9", view.getMessageGroup().orElse(null));
                    received.add(view.getMessageId().toString());
                    // the next message of the group comes only once this one is acknowledged
                    assertTrue(consumer.receive(1, INVISIBLE_MIN).isEmpty(), "delivered while the previous was in flight");
                    consumer.ack(view);
                }
            }
            assertEquals(sent, received);
        }
    }

    @Test
    void remotingProducersMessageReachesTheSimpleConsumerIntact() throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("v5_remoting_producer");
        producer.setNamesrvAddr(ferrocket.nameServer());
        producer.start();
        String id;
        try {
            org.apache.rocketmq.common.message.Message message = new org.apache.rocketmq.common.message.Message(
                    REMOTING, "TagR", "key-1 key-2", "from remoting".getBytes(StandardCharsets.UTF_8));
            message.putUserProperty("color", "green");
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
            id = result.getMsgId();
        } finally {
            producer.shutdown();
        }
        try (SimpleConsumer consumer = simpleConsumer("v5_from_remoting", REMOTING, FilterExpression.SUB_ALL)) {
            MessageView view = receiveOne(consumer);
            assertEquals(id, view.getMessageId().toString());
            assertEquals("TagR", view.getTag().orElse(null));
            assertEquals(new HashSet<>(java.util.Arrays.asList("key-1", "key-2")), new HashSet<>(view.getKeys()));
            assertEquals("green", view.getProperties().get("color"));
            assertEquals("from remoting", body(view));
            consumer.ack(view);
        }
    }
}
