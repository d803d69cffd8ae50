package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rebalance under load: consumers of one group join and leave while 100,000 messages flow; every message is
 * consumed at least once.
 */
class RebalanceStressTest extends FerrocketTestBase {
    private static final String TOPIC = "RebalanceStressTopic";
    private static final String GROUP = "rebalance_stress_group";
    private static final int MESSAGES = 100_000;
    private static final int BATCH = 250;

    private final BitSet consumed = new BitSet(MESSAGES);
    private final AtomicLong deliveries = new AtomicLong();

    @Test
    @Timeout(300)
    void consumersJoiningAndLeavingLoseNothing() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "rebalance_stress_producer"));
        sendRange(producer, 0, BATCH);
        awaitRoute(ferrocket, TOPIC);

        AtomicReference<Throwable> senderFailure = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                for (int from = BATCH; from < MESSAGES; from += BATCH) {
                    sendRange(producer, from, Math.min(BATCH, MESSAGES - from));
                    Thread.sleep(20);
                }
            } catch (Throwable t) {
                senderFailure.set(t);
            }
        }, "stress-sender");
        sender.start();

        // Membership changes while the sender runs: 1 -> 2 -> 3 -> 2 -> 3 -> 2 members.
        List<DefaultMQPushConsumer> members = new ArrayList<>();
        members.add(member());
        for (int step = 0; step < 5; step++) {
            Thread.sleep(3000);
            if (step % 2 == 0) {
                members.add(member());
            } else {
                members.remove(0).shutdown();
            }
        }
        sender.join(240_000);
        if (senderFailure.get() != null) {
            throw new AssertionError("send failed", senderFailure.get());
        }
        Await.until(Duration.ofSeconds(180), () -> cardinality() == MESSAGES,
                () -> "consumed " + cardinality() + " distinct of " + MESSAGES + " (" + deliveries.get()
                        + " deliveries); first missing id " + firstMissing());
        assertEquals(MESSAGES, cardinality());
        System.out.println("rebalance stress: " + MESSAGES + " messages, " + (deliveries.get() - MESSAGES)
                + " duplicate deliveries");
    }

    private DefaultMQPushConsumer member() throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, GROUP);
        consumer.subscribe(TOPIC, "*");
        consumer.setPullBatchSize(64);
        consumer.setConsumeMessageBatchMaxSize(32);
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            synchronized (consumed) {
                for (MessageExt m : messages) {
                    consumed.set(Integer.parseInt(new String(m.getBody(), StandardCharsets.US_ASCII)));
                }
            }
            deliveries.addAndGet(messages.size());
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return start(consumer);
    }

    private int cardinality() {
        synchronized (consumed) {
            return consumed.cardinality();
        }
    }

    private int firstMissing() {
        synchronized (consumed) {
            return consumed.nextClearBit(0);
        }
    }

    private static void sendRange(DefaultMQProducer producer, int from, int count) throws Exception {
        List<Message> batch = new ArrayList<>(count);
        for (int i = from; i < from + count; i++) {
            batch.add(new Message(TOPIC, Integer.toString(i).getBytes(StandardCharsets.US_ASCII)));
        }
        SendResult r = producer.send(batch);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
    }
}
