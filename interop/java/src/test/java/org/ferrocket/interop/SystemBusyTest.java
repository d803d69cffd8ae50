package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fast failure: with one send worker held by a slow (injected) fsync, a second send waits longer than
 * waitTimeMillsInSendQueue and is answered SYSTEM_BUSY "[TIMEOUT_CLEAN_QUEUE]...". The 5.x client retries such
 * an answer (retryTimesWhenSendFailed, 3 attempts in all); the 4.9 client reports it at once. Once the worker
 * is free, sends succeed again.
 */
class SystemBusyTest extends FerrocketTestBase {
    private static final String TOPIC = "SystemBusyTopic";

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults()
                .set("flushDiskType", "SYNC_FLUSH")
                .set("syncFlushTimeout", "10000")
                .set("sendMessageThreadPoolNums", "1")
                .set("waitTimeMillsInSendQueue", "100");
    }

    @Override
    protected Map<String, String> environment() {
        return Map.of("FERROCKET_FAULT_SLOW_FLUSH_MS", "4000");
    }

    private static Message message(String body) {
        return new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @Timeout(180)
    void aSendThatWaitedTooLongIsAnsweredSystemBusyAndRetried() throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, "system_busy_producer");
        producer.setSendMsgTimeout(20_000);
        start(producer);
        // the first send creates the topic and holds the only send worker for the slow fsync
        producer.send(message("warm-up"));
        awaitRoute(ferrocket, TOPIC);

        CompletableFuture<SendResult> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return producer.send(message("holds the worker"));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(500);
        Exception refused = null;
        try {
            producer.send(message("waits too long"));
        } catch (MQBrokerException | MQClientException e) {
            refused = e;
        }
        assertNotNull(refused, "the second send was not refused");
        MQBrokerException busy = refused instanceof MQBrokerException
                ? (MQBrokerException) refused
                : (MQBrokerException) refused.getCause();
        assertNotNull(busy, refused.toString());
        assertEquals(2, busy.getResponseCode(), busy.toString()); // SYSTEM_BUSY
        assertTrue(busy.getErrorMessage().startsWith(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
                busy.getErrorMessage());
        if (MQVersion.CURRENT_VERSION >= MQVersion.Version.V5_0_0.ordinal()) {
            assertTrue(refused.getMessage().contains("Send [3] times"), "5.x retries SYSTEM_BUSY: " + refused);
        }

        assertNotNull(slow.get().getMsgId());
        assertNotNull(producer.send(message("after the worker is free")).getMsgId());
    }
}
