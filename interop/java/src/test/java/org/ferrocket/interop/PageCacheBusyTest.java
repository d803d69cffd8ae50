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
 * Fast failure on a busy page cache: an append that holds the put lock (injected, 4 s) longer than
 * osPageCacheBusyTimeOutMills makes the broker shed sends with SYSTEM_BUSY: one arriving while the lock is held
 * gets "[REJECTREQUEST]...", one already waiting in the send queue "[PCBUSY_CLEAN_QUEUE]..." (the order of sends
 * from this client is not controlled finely enough to tell which; crates/cli/tests/hostile_load.rs checks both
 * exactly). The 5.x client retries them (3 attempts in all); the 4.9 client reports them at once. The slow send
 * and later ones succeed.
 */
class PageCacheBusyTest extends FerrocketTestBase {
    private static final String TOPIC = "PageCacheBusyTopic";

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults()
                .set("sendMessageThreadPoolNums", "1")
                .set("waitTimeMillsInSendQueue", "60000")
                .set("osPageCacheBusyTimeOutMills", "1000");
    }

    @Override
    protected Map<String, String> environment() {
        return Map.of("FERROCKET_FAULT_SLOW_PUT_MS", "4000");
    }

    private static Message message(String body) {
        return new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8));
    }

    private static MQBrokerException refusal(DefaultMQProducer producer, String body) {
        Exception refused = null;
        try {
            producer.send(message(body));
        } catch (MQBrokerException | MQClientException e) {
            refused = e;
        } catch (Exception e) {
            throw new AssertionError("unexpected failure", e);
        }
        assertNotNull(refused, "the send '" + body + "' was not refused");
        MQBrokerException busy = refused instanceof MQBrokerException
                ? (MQBrokerException) refused
                : (MQBrokerException) refused.getCause();
        assertNotNull(busy, refused.toString());
        assertEquals(2, busy.getResponseCode(), busy.toString()); // SYSTEM_BUSY
        if (MQVersion.CURRENT_VERSION >= MQVersion.Version.V5_0_0.ordinal()) {
            assertTrue(refused.getMessage().contains("Send [3] times"), "5.x retries SYSTEM_BUSY: " + refused);
        }
        return busy;
    }

    @Test
    @Timeout(180)
    void sendsAreShedWhileThePageCacheIsBusyAndAcceptedAfterwards() throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, "page_cache_busy_producer");
        producer.setSendMsgTimeout(20_000);
        start(producer);
        producer.send(message("warm-up"));
        awaitRoute(ferrocket, TOPIC);

        CompletableFuture<SendResult> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return producer.send(message("holds the put lock"));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        // the slow send holds the put lock for 4 s: from 1 s on the page cache counts as busy
        Thread.sleep(1500);
        String queued = refusal(producer, "arrives while busy").getErrorMessage();
        assertTrue(queued.startsWith("[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while")
                || queued.startsWith("[REJECTREQUEST]system busy, start flow control for a while"), queued);
        String arriving = refusal(producer, "arrives while still busy").getErrorMessage();
        assertTrue(arriving.startsWith("[REJECTREQUEST]system busy, start flow control for a while")
                || arriving.startsWith("[PCBUSY_CLEAN_QUEUE]"), arriving);

        assertNotNull(slow.get().getMsgId());
        assertNotNull(producer.send(message("after the page cache calmed down")).getMsgId());
    }
}
