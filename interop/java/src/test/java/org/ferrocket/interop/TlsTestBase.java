package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

/**
 * What the TLS tests share: a broker with a given `tls.server.mode` (and RocketMQ's default test mode, a
 * self-signed certificate made at start-up), and the official client with `setUseTLS`, which trusts any
 * server certificate by default.
 */
abstract class TlsTestBase extends FerrocketTestBase {
    /** The `tls.server.mode` of this class's broker and name server. */
    abstract String tlsMode();

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults().set("tls.server.mode", tlsMode());
    }

    /** A started producer, over TLS or not. */
    DefaultMQProducer producer(String group, boolean tls) throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, group);
        producer.setUseTLS(tls);
        producer.setSendMsgTimeout(5_000);
        return start(producer);
    }

    /**
     * Sends `count` messages. The first is retried for a while: the client's first TLS handshake (JSSE start-up)
     * can take longer than one route request's timeout on a busy machine.
     */
    List<String> send(DefaultMQProducer producer, String topic, int count) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Message message = new Message(topic, "TagA", ("tls-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult result = i == 0 ? firstSend(producer, message) : producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            ids.add(result.getMsgId());
        }
        return ids;
    }

    private static SendResult firstSend(DefaultMQProducer producer, Message message) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                return producer.send(message);
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(500);
            }
        }
    }

    /** Consumes `topic` with a push consumer over TLS or not, until every id arrived. */
    void consumeAll(String topic, String group, boolean tls, List<String> ids) throws Exception {
        Received received = Received.byMsgId();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.setUseTLS(tls);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(ids),
                () -> "not consumed over " + (tls ? "TLS" : "plaintext") + ": " + received.missing(ids));
    }

    /** A plaintext producer gets nowhere: the name server and the broker close its connections. */
    void plaintextIsRefused(String topic) throws Exception {
        DefaultMQProducer plain = producer("tls_plain_producer", false);
        plain.setSendMsgTimeout(2_000);
        plain.setRetryTimesWhenSendFailed(0);
        assertThrows(Exception.class, () -> plain.send(
                new Message(topic, "TagA", "plain".getBytes(StandardCharsets.UTF_8))));
    }
}
