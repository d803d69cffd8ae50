package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.junit.jupiter.api.Test;

/**
 * Server-side renewal for the RocketMQ 5 PushConsumer (rocketmq-client-java): its receives ask for
 * {@code auto_renew}, and a listener that runs longer than the invisible time the server pops with
 * (shortened to 3 s here) still consumes each message exactly once, its acknowledgement using the
 * handle the server renewed.
 */
class GrpcPushRenewTest {
    private static final String TOPIC = "V5PushRenew";
    private static final long INVISIBLE_MILLIS = 3_000;
    /** How long the listener takes for each message: well past the invisible time. */
    private static final long LISTENER_MILLIS = 8_000;
    private static final int MESSAGES = 3;
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    /** Counts each delivery, then takes {@link #LISTENER_MILLIS} before it succeeds. */
    private static ConsumeResult slowly(String id, Map<String, AtomicInteger> deliveries, Set<String> done) {
        deliveries.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        try {
            TimeUnit.MILLISECONDS.sleep(LISTENER_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ConsumeResult.FAILURE;
        }
        done.add(id);
        return ConsumeResult.SUCCESS;
    }

    @Test
    void aSlowListenerConsumesEachMessageOnce() throws Exception {
        String conf = "reviveInterval=100\ndefaultInvisibleTimeMills=" + INVISIBLE_MILLIS
                + "\nrenewAheadTimeMillis=1500\nrenewSchedulePeriodMillis=200\n";
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        Set<String> done = ConcurrentHashMap.newKeySet();
        try (Standalone ferrocket = Standalone.withConf(conf, TOPIC)) {
            ClientConfiguration clients = ClientConfiguration.newBuilder()
                    .setEndpoints(ferrocket.grpcEndpoint()).enableSsl(false).build();
            try (PushConsumer consumer = PROVIDER.newPushConsumerBuilder()
                    .setClientConfiguration(clients)
                    .setConsumerGroup("v5_push_renew")
                    .setSubscriptionExpressions(Collections.singletonMap(TOPIC, FilterExpression.SUB_ALL))
                    .setMessageListener(view -> slowly(view.getMessageId().toString(), deliveries, done))
                    .build();
                    Producer producer = PROVIDER.newProducerBuilder()
                            .setClientConfiguration(clients).setTopics(TOPIC).build()) {
                Set<String> sent = new HashSet<>();
                for (int i = 0; i < MESSAGES; i++) {
                    byte[] body = ("renew-" + i).getBytes(StandardCharsets.UTF_8);
                    sent.add(producer.send(PROVIDER.newMessageBuilder().setTopic(TOPIC).setBody(body).build())
                            .getMessageId().toString());
                }
                long deadline = System.currentTimeMillis() + 25_000;
                while (!done.containsAll(sent) && System.currentTimeMillis() < deadline) {
                    TimeUnit.MILLISECONDS.sleep(100);
                }
                assertTrue(done.containsAll(sent), "consumed " + done + " of " + sent);
                // a message acknowledged with a stale handle would be back within its 3 s
                TimeUnit.MILLISECONDS.sleep(2 * INVISIBLE_MILLIS);
                assertEquals(sent, deliveries.keySet());
                for (Map.Entry<String, AtomicInteger> e : deliveries.entrySet()) {
                    assertEquals(1, e.getValue().get(), "deliveries of " + e.getKey() + ": " + deliveries);
                }
            }
        }
    }
}
