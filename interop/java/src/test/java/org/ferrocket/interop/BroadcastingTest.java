package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.store.LocalFileOffsetStore;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerQueries;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.MessageModels;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Broadcasting: every instance of a group receives every message, offsets live in the client's local file
 * store (never committed to the broker), and a failed message is not retried.
 */
class BroadcastingTest extends FerrocketTestBase {
    private static final String TOPIC = "BroadcastTopic";
    private static final String GROUP = "broadcast_group";

    @Test
    @Timeout(120)
    void everyInstanceGetsEveryMessageWithoutRetry() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "broadcast_producer"));
        List<String> warmup = ConsumeFromWhereTest.send(producer, TOPIC, "warmup", 4);
        awaitRoute(ferrocket, TOPIC);

        Received a = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        Received b = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer first = consumer("a", a.listener());
        // The second instance fails one message: broadcasting consumption drops it instead of sending it back.
        DefaultMQPushConsumer second = consumer("b", failing(b, "main-7"));
        assertTrue(first.getDefaultMQPushConsumerImpl().getOffsetStore() instanceof LocalFileOffsetStore,
                "broadcasting consumers keep offsets client-side");
        Await.until(Duration.ofSeconds(30), () -> a.containsAll(warmup) && b.containsAll(warmup),
                () -> "warm-up: a " + a.summary(warmup) + "; b " + b.summary(warmup));

        List<String> main = ConsumeFromWhereTest.send(producer, TOPIC, "main", 50);
        Await.until(Duration.ofSeconds(30), () -> a.containsAll(main) && b.containsAll(main),
                () -> "a " + a.summary(main) + "; b " + b.summary(main));
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(0, a.duplicates(), a.summary(main));
        assertEquals(1, b.deliveries("main-7").size(), "a failed broadcast message must not be redelivered");
        assertEquals(0, b.duplicates(), b.summary(main));

        first.shutdown();
        second.shutdown();
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            for (int q = 0; q < 4; q++) {
                assertTrue(broker.maxOffset("%RETRY%" + GROUP, q) <= 0,
                        "broadcasting must not send messages back to the retry topic");
                // Shutdown persisted the offsets; a broker-side offset store would now hold them (> 0).
                RemotingCommand offset = broker.queryConsumerOffset(GROUP, TOPIC, q);
                assertTrue(offset.getCode() != 0 || "0".equals(offset.getExtFields().get("offset")),
                        "the broker holds an offset for broadcasting group queue " + q + ": "
                                + offset.getExtFields());
            }
        }
    }

    private DefaultMQPushConsumer consumer(String name, MessageListenerConcurrently listener) throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, GROUP);
        MessageModels.broadcasting(consumer);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener(listener);
        return start(consumer);
    }

    private static MessageListenerConcurrently failing(Received received, String failKey) {
        return (messages, context) -> {
            for (MessageExt m : messages) {
                received.add(m);
            }
            for (MessageExt m : messages) {
                if (failKey.equals(new String(m.getBody(), StandardCharsets.UTF_8))) {
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }
}
