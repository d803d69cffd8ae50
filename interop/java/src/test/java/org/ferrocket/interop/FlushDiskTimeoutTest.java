package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SYNC_FLUSH with an fsync slower than syncFlushTimeout: the producer gets SendStatus.FLUSH_DISK_TIMEOUT (the
 * message is stored all the same and is consumed). The slow fsync is injected through ferrocket's
 * FERROCKET_FAULT_SLOW_FLUSH_MS test hook.
 */
class FlushDiskTimeoutTest extends FerrocketTestBase {
    private static final String TOPIC = "FlushDiskTimeoutTopic";

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults()
                .set("flushDiskType", "SYNC_FLUSH")
                .set("syncFlushTimeout", "200");
    }

    @Override
    protected Map<String, String> environment() {
        return Map.of("FERROCKET_FAULT_SLOW_FLUSH_MS", "1500");
    }

    @Test
    @Timeout(180)
    void slowFsyncIsReportedAsFlushDiskTimeout() throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, "flush_timeout_producer");
        // the status must reach the caller, not be retried on another broker
        producer.setRetryAnotherBrokerWhenNotStoreOK(false);
        start(producer);

        String body = "flushed-late";
        SendResult result = producer.send(new Message(TOPIC, "TagA", body.getBytes(StandardCharsets.UTF_8)));
        assertEquals(SendStatus.FLUSH_DISK_TIMEOUT, result.getSendStatus(), result.toString());
        assertFalse(result.getMsgId() == null || result.getMsgId().isEmpty(), result.toString());

        // FLUSH_DISK_TIMEOUT means stored but not yet known to be on disk: the message is delivered
        awaitRoute(ferrocket, TOPIC);
        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "flush_timeout_consumer");
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(Duration.ofSeconds(90), () -> received.containsAll(List.of(body)),
                () -> "consumer: " + received.summary(List.of(body)));
    }
}
