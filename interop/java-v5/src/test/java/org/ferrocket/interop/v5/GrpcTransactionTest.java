package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A RocketMQ 5 TransactionProducer (rocketmq-client-java) on ferrocket's gRPC port, read by a 4.9
 * remoting push consumer: a committed message is delivered, a rolled-back one never is, and one left
 * unresolved is checked back through the producer's Telemetry stream, where its TransactionChecker
 * commits it.
 */
class GrpcTransactionTest {
    private static final String TX = "V5Transaction";
    /** The broker checks unresolved transactions every second, once they are a second old. */
    private static final String FAST_CHECKS = "transactionTimeOut=1000\ntransactionCheckInterval=1000\n";

    private static Standalone ferrocket;
    private static DefaultMQPushConsumer consumer;
    private static Producer producer;
    private static final Inbox RECEIVED = new Inbox();
    /** Message ids the checker commits; it rolls back any other. */
    private static final Set<String> COMMIT_ON_CHECK = ConcurrentHashMap.newKeySet();
    private static final Set<String> CHECKED = ConcurrentHashMap.newKeySet();

    @BeforeAll
    static void start() throws Exception {
        ferrocket = new Standalone(FAST_CHECKS, new String[] {TX});
        consumer = new DefaultMQPushConsumer("v5_tx_reader");
        consumer.setNamesrvAddr(ferrocket.nameServer());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TX, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                RECEIVED.add(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        ClientConfiguration configuration = ClientConfiguration.newBuilder()
                .setEndpoints(ferrocket.grpcEndpoint())
                .setRequestTimeout(Duration.ofSeconds(5))
                .build();
        producer = ClientServiceProvider.loadService().newProducerBuilder()
                .setClientConfiguration(configuration)
                .setTopics(TX)
                .setTransactionChecker(view -> {
                    String id = view.getMessageId().toString();
                    CHECKED.add(id);
                    return COMMIT_ON_CHECK.contains(id) ? TransactionResolution.COMMIT
                            : TransactionResolution.ROLLBACK;
                })
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.close();
        }
        if (consumer != null) {
            consumer.shutdown();
        }
        if (ferrocket != null) {
            ferrocket.close();
        }
    }

    private static Message message(String tag, String body) {
        return ClientServiceProvider.loadService().newMessageBuilder()
                .setTopic(TX)
                .setTag(tag)
                .setKeys(body)
                .addProperty("origin", "v5-transaction")
                .setBody(body.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    @Test
    void committedTransactionIsDelivered() throws Exception {
        Transaction transaction = producer.beginTransaction();
        SendReceipt receipt = producer.send(message("Committed", "commit-me"), transaction);
        String id = receipt.getMessageId().toString();
        TimeUnit.MILLISECONDS.sleep(300);
        assertNull(RECEIVED.get(id), "a half message is not delivered before the commit");
        transaction.commit();
        MessageExt m = RECEIVED.await(id, 30_000);
        assertEquals("Committed", m.getTags());
        assertEquals("commit-me", m.getKeys());
        assertEquals("v5-transaction", m.getUserProperty("origin"));
        assertEquals("commit-me", new String(m.getBody(), StandardCharsets.UTF_8));
        assertEquals(TX, m.getTopic());
    }

    @Test
    void rolledBackTransactionIsNeverDelivered() throws Exception {
        Transaction transaction = producer.beginTransaction();
        SendReceipt receipt = producer.send(message("RolledBack", "drop-me"), transaction);
        String id = receipt.getMessageId().toString();
        transaction.rollback();
        // several check rounds pass: a rolled-back message is neither delivered nor checked back
        TimeUnit.SECONDS.sleep(5);
        assertNull(RECEIVED.get(id), "a rolled-back message was delivered");
        assertFalse(CHECKED.contains(id), "a rolled-back transaction was checked back");
    }

    @Test
    void unresolvedTransactionIsCommittedByTheChecker() throws Exception {
        Transaction transaction = producer.beginTransaction();
        Message message = message("Checked", "check-me");
        // the checker learns the id only after the send; until then a check would roll back
        SendReceipt receipt = producer.send(message, transaction);
        String id = receipt.getMessageId().toString();
        COMMIT_ON_CHECK.add(id);
        // neither commit nor rollback: the broker asks the producer
        MessageExt m = RECEIVED.await(id, 60_000);
        assertNotNull(m);
        assertEquals("Checked", m.getTags());
        assertEquals("check-me", new String(m.getBody(), StandardCharsets.UTF_8));
        assertEquals(true, CHECKED.contains(id), "delivered after a check-back");
    }
}
