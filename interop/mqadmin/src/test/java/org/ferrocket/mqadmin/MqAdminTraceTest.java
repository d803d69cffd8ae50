package org.ferrocket.mqadmin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * The official mqadmin's {@code queryMsgTraceById} against Ferrocket: a producer and a push consumer of the same
 * client version with {@code enableMsgTrace} write their records, mqadmin finds them by the message id in the
 * default trace topic and, with {@code -t}, in a custom one.
 */
class MqAdminTraceTest {
    private final List<AutoCloseable> clients = new ArrayList<>();

    /** Sends one traced message, consumes it with a traced consumer and returns its msgId. */
    private String traceOne(String namesrv, String name, String traceTopic) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(name + "_producer", true, traceTopic);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(name + "-p-" + System.nanoTime());
        p.start();
        clients.add(p::shutdown);
        SendResult r = p.send(new Message(name + "Topic", "TagT", "traced".getBytes(StandardCharsets.UTF_8)));
        assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());

        CountDownLatch consumed = new CountDownLatch(1);
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(name + "_consumer", true, traceTopic);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name + "-c-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(name + "Topic", "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            consumed.countDown();
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        clients.add(c::shutdown);
        assertTrue(consumed.await(60, TimeUnit.SECONDS), name + ": the traced message was not consumed");
        return r.getMsgId();
    }

    /** Runs queryMsgTraceById until it shows the Pub row and a Sub row (records arrive in batches). */
    private static String awaitTrace(MqAdmin admin, String name, String... args) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        MqAdmin.Result last = null;
        while (System.nanoTime() < deadline) {
            last = admin.run("queryMsgTraceById", args);
            if (!last.failed() && last.out.contains(name + "_producer") && last.out.contains(name + "_consumer")) {
                return last.out;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no complete trace for " + name + ": " + last);
    }

    @Test
    void queryMsgTraceByIdShowsProducerAndConsumerRecords() throws Exception {
        try (Standalone fr = Standalone.start("trace")) {
            MqAdmin admin = new MqAdmin(fr.namesrv);
            String byDefault = traceOne(fr.namesrv, "MqAdminTrace", null);
            String custom = traceOne(fr.namesrv, "MqAdminCustomTrace", "MqAdminTraceTopic");

            String out = awaitTrace(admin, "MqAdminTrace", "-i", byDefault);
            assertTrue(out.contains("#Type") && out.contains("#ProducerGroup") && out.contains("#ConsumerGroup"), out);
            assertTrue(out.lines().anyMatch(l -> l.startsWith("Pub") && l.contains("MqAdminTrace_producer")
                    && l.trim().endsWith("success")), out);
            assertTrue(out.lines().anyMatch(l -> l.startsWith("Sub") && l.contains("MqAdminTrace_consumer")
                    && l.trim().endsWith("success")), out);

            out = awaitTrace(admin, "MqAdminCustomTrace", "-i", custom, "-t", "MqAdminTraceTopic");
            assertTrue(out.lines().anyMatch(l -> l.startsWith("Sub") && l.contains("MqAdminCustomTrace_consumer")), out);
        } finally {
            for (AutoCloseable c : clients) {
                c.close();
            }
        }
    }
}
