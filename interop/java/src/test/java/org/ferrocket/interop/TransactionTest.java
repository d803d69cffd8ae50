package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Transactional messages: a half message is invisible until committed, a rollback discards it, and an unknown or
 * lost second phase makes the broker ask the producer (CHECK_TRANSACTION_STATE) after transactionTimeOut, once
 * per transactionCheckInterval, at most transactionCheckMax times before the message is discarded with a log
 * line. A half message pending when the broker is killed is checked and resolved after the restart.
 */
class TransactionTest extends FerrocketTestBase {
    private static final long TIMEOUT_MS = 2000;
    private static final int CHECK_MAX = 3;
    /** RequestCode.END_TRANSACTION. */
    private static final int END_TRANSACTION = 37;

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults()
                .set("transactionTimeOut", String.valueOf(TIMEOUT_MS))
                .set("transactionCheckInterval", "1000")
                .set("transactionCheckMax", String.valueOf(CHECK_MAX));
    }

    /** What the producer side saw: checks per message body, with their times. */
    private static final class Checks {
        final Map<String, List<Long>> times = new ConcurrentHashMap<>();
        final Map<String, Long> born = new ConcurrentHashMap<>();

        void record(MessageExt msg) {
            String key = body(msg);
            born.put(key, msg.getBornTimestamp());
            times.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(System.currentTimeMillis());
        }

        int count(String key) {
            return times.getOrDefault(key, List.of()).size();
        }
    }

    @Test
    @Timeout(120)
    void commitIsVisibleAndRollbackIsNot() throws Exception {
        String topic = "TxCommitTopic";
        Checks checks = new Checks();
        TransactionMQProducer producer = producer("tx_commit_producer", null,
                body -> body.startsWith("commit") ? LocalTransactionState.COMMIT_MESSAGE
                        : LocalTransactionState.ROLLBACK_MESSAGE,
                checks, msg -> LocalTransactionState.COMMIT_MESSAGE);
        send(producer, topic, "commit-1", LocalTransactionState.COMMIT_MESSAGE);
        send(producer, topic, "rollback-1", LocalTransactionState.ROLLBACK_MESSAGE);
        Received received = consume(topic, "tx_commit_group");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(List.of("commit-1")),
                () -> received.summary(List.of("commit-1")));
        // Several check rounds pass: resolved halves are neither checked nor delivered.
        Await.quietPeriod(Duration.ofMillis(TIMEOUT_MS + 3000));
        assertTrue(received.deliveries("rollback-1").isEmpty(), "a rolled back message was delivered");
        assertEquals(1, received.deliveries("commit-1").size(), "commit-1 deliveries");
        assertTrue(checks.times.isEmpty(), "resolved transactions were checked: " + checks.times);
    }

    @Test
    @Timeout(120)
    void unknownStateIsCheckedAfterTheTimeout() throws Exception {
        String topic = "TxUnknownTopic";
        Checks checks = new Checks();
        TransactionMQProducer producer = producer("tx_unknown_producer", null,
                body -> LocalTransactionState.UNKNOW, checks,
                body -> body.startsWith("commit") ? LocalTransactionState.COMMIT_MESSAGE
                        : LocalTransactionState.ROLLBACK_MESSAGE);
        send(producer, topic, "commit-after-check", LocalTransactionState.UNKNOW);
        send(producer, topic, "rollback-after-check", LocalTransactionState.UNKNOW);
        Received received = consume(topic, "tx_unknown_group");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(List.of("commit-after-check")),
                () -> received.summary(List.of("commit-after-check")) + ", checks " + checks.times);
        Await.until(Duration.ofSeconds(30), () -> checks.count("rollback-after-check") > 0,
                () -> "rollback-after-check was never checked: " + checks.times);
        for (String key : List.of("commit-after-check", "rollback-after-check")) {
            long first = checks.times.get(key).get(0);
            assertTrue(first - checks.born.get(key) >= TIMEOUT_MS, key + " was checked " + (first - checks.born.get(key))
                    + " ms after it was sent, before transactionTimeOut " + TIMEOUT_MS + " ms");
        }
        Await.quietPeriod(Duration.ofSeconds(3));
        assertTrue(received.deliveries("rollback-after-check").isEmpty(), "rolled back by check, yet delivered");
        assertEquals(1, received.deliveries("commit-after-check").size(), "commit-after-check deliveries");
        assertEquals(1, checks.count("commit-after-check"), "checks after the check committed: " + checks.times);
        assertEquals(1, checks.count("rollback-after-check"), "checks after the check rolled back: " + checks.times);
    }

    @Test
    @Timeout(120)
    void lostSecondPhaseIsChecked() throws Exception {
        String topic = "TxLostTopic";
        Checks checks = new Checks();
        AtomicBoolean dropNextEnd = new AtomicBoolean();
        // The producer commits locally but its END_TRANSACTION never reaches the broker.
        RPCHook dropEnd = new RPCHook() {
            @Override
            public void doBeforeRequest(String remoteAddr, RemotingCommand request) {
                if (request.getCode() == END_TRANSACTION && dropNextEnd.compareAndSet(true, false)) {
                    throw new IllegalStateException("END_TRANSACTION dropped by the test");
                }
            }

            @Override
            public void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
            }
        };
        TransactionMQProducer producer = producer("tx_lost_producer", dropEnd, body -> {
            dropNextEnd.set(true);
            return LocalTransactionState.COMMIT_MESSAGE;
        }, checks, body -> LocalTransactionState.COMMIT_MESSAGE);
        send(producer, topic, "lost-end", LocalTransactionState.COMMIT_MESSAGE);
        // 5.x clients may end the transaction from another thread.
        Await.until(Duration.ofSeconds(10), () -> !dropNextEnd.get(), () -> "the END_TRANSACTION was never attempted");
        Received received = consume(topic, "tx_lost_group");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(List.of("lost-end")),
                () -> received.summary(List.of("lost-end")) + ", checks " + checks.times);
        assertTrue(checks.count("lost-end") >= 1, "delivered without a check: " + checks.times);
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(1, received.deliveries("lost-end").size(), "lost-end deliveries");
    }

    @Test
    @Timeout(120)
    void checksStopAfterTransactionCheckMaxAndTheMessageIsDiscarded() throws Exception {
        String topic = "TxDiscardTopic";
        Checks checks = new Checks();
        TransactionMQProducer producer = producer("tx_discard_producer", null,
                body -> LocalTransactionState.UNKNOW, checks, body -> LocalTransactionState.UNKNOW);
        send(producer, topic, "never-resolved", LocalTransactionState.UNKNOW);
        Received received = consume(topic, "tx_discard_group");
        Await.until(Duration.ofSeconds(60), () -> checks.count("never-resolved") >= CHECK_MAX,
                () -> "checks so far: " + checks.times);
        Await.until(Duration.ofSeconds(30), () -> logContains("checked too many times"),
                () -> "no discard line in the broker log " + ferrocket.logFile());
        Await.quietPeriod(Duration.ofSeconds(4));
        assertEquals(CHECK_MAX, checks.count("never-resolved"), "checks: " + checks.times);
        assertTrue(received.deliveries("never-resolved").isEmpty(), "a discarded half message was delivered");
    }

    @Test
    @Timeout(180)
    void halfMessagePendingAcrossAKillIsResolvedAfterRestart() throws Exception {
        String topic = "TxRestartTopic";
        Checks checks = new Checks();
        AtomicBoolean restarted = new AtomicBoolean();
        TransactionMQProducer producer = producer("tx_restart_producer", null,
                body -> body.startsWith("committed") ? LocalTransactionState.COMMIT_MESSAGE
                        : LocalTransactionState.UNKNOW,
                checks, body -> restarted.get() ? LocalTransactionState.COMMIT_MESSAGE
                        : LocalTransactionState.UNKNOW);
        send(producer, topic, "committed-before", LocalTransactionState.COMMIT_MESSAGE);
        Received received = consume(topic, "tx_restart_group");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(List.of("committed-before")),
                () -> received.summary(List.of("committed-before")));
        // Killed before transactionTimeOut, so the first check happens after the restart.
        send(producer, topic, "pending", LocalTransactionState.UNKNOW);
        ferrocket.destroyForcibly();
        restarted.set(true);
        ferrocket.start();

        Await.until(Duration.ofSeconds(90), () -> received.containsAll(List.of("pending")),
                () -> received.summary(List.of("pending")) + ", checks " + checks.times);
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(1, received.deliveries("pending").size(), "pending deliveries");
        assertEquals(1, received.deliveries("committed-before").size(), "committed-before deliveries");
        assertEquals(0, checks.count("committed-before"),
                "a transaction committed before the kill was checked after it: " + checks.times);
    }

    private boolean logContains(String text) {
        try {
            return Files.readString(ferrocket.logFile()).contains(text);
        } catch (Exception e) {
            return false;
        }
    }

    private TransactionMQProducer producer(String group, RPCHook hook,
                                           Function<String, LocalTransactionState> local, Checks checks,
                                           Function<String, LocalTransactionState> check) throws Exception {
        TransactionMQProducer producer = hook == null ? new TransactionMQProducer(group)
                : new TransactionMQProducer(group, hook);
        producer.setNamesrvAddr(ferrocket.nameServerAddress());
        producer.setInstanceName(Clients.uniqueInstanceName(group));
        producer.setVipChannelEnabled(false);
        // The first send of a fresh JVM also looks up the route; leave room for a loaded machine.
        producer.setSendMsgTimeout(30_000);
        // After a broker restart the broker learns of the producer from its next heartbeat.
        producer.setHeartbeatBrokerInterval(1000);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return local.apply(body(msg));
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checks.record(msg);
                return check.apply(body(msg));
            }
        });
        producer.start();
        closeAfterTest(producer::shutdown);
        return producer;
    }

    private static void send(TransactionMQProducer producer, String topic, String body,
                             LocalTransactionState expected) throws Exception {
        Message msg = new Message(topic, "TagA", body.getBytes(StandardCharsets.UTF_8));
        TransactionSendResult result = producer.sendMessageInTransaction(msg, null);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
        assertEquals(expected, result.getLocalTransactionState(), result.toString());
    }

    private Received consume(String topic, String group) throws Exception {
        awaitRoute(ferrocket, topic);
        Received received = new Received(TransactionTest::body);
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        return received;
    }

    private static String body(Message msg) {
        return new String(msg.getBody(), StandardCharsets.UTF_8);
    }
}
