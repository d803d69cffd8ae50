package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketProcess;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SQL92 subscriptions ({@code MessageSelector.bySql}) on a broker with {@code enablePropertyFilter=true}: only
 * messages whose properties satisfy the expression are delivered; an expression that does not compile makes
 * {@code start()} fail; a broker without the setting refuses SQL92 as RocketMQ brokers do.
 */
class Sql92FilterTest extends FerrocketTestBase {
    private static final String TOPIC = "Sql92FilterTopic";
    private static final String EXPRESSION = "(TAGS = 'TagA' OR color = 'blue') AND a >= 20 AND a IS NOT NULL";
    private static final String[] COLORS = {"red", "green", "blue"};
    private static final int COUNT = 120;

    private List<String> wanted;

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults().set("enablePropertyFilter", "true");
    }

    @Test
    @Timeout(180)
    void pushConsumerReceivesOnlyMatchingMessages() throws Exception {
        List<String> expected = sendOnce();
        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "sql92_push");
        consumer.subscribe(TOPIC, MessageSelector.bySql(EXPRESSION));
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(expected),
                () -> "bySql(" + EXPRESSION + "): " + received.summary(expected));
        // Give any wrongly delivered message time to show up.
        Await.quietPeriod(Duration.ofSeconds(2));
        assertEquals(new HashSet<>(expected), received.keys(), "bySql(" + EXPRESSION + ") delivered other messages");
    }

    @Test
    @Timeout(180)
    void litePullConsumerReceivesOnlyMatchingMessages() throws Exception {
        List<String> expected = sendOnce();
        DefaultLitePullConsumer lite = Clients.litePullConsumer(ferrocket, "sql92_lite", null);
        lite.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // One pull thread per queue: a thread blocks in a long-polling pull on a queue it has read to the end,
        // and with fewer threads the 5.x client leaves the other queues waiting for that poll to time out.
        lite.setPullThreadNums(4);
        lite.subscribe(TOPIC, MessageSelector.bySql(EXPRESSION));
        start(lite);
        Set<String> polled = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!polled.containsAll(expected) && System.nanoTime() < deadline) {
            for (MessageExt m : lite.poll(500)) {
                polled.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
        }
        // Anything still in flight shows up within a few more polls.
        for (int i = 0; i < 4; i++) {
            for (MessageExt m : lite.poll(500)) {
                polled.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
        }
        assertEquals(new HashSet<>(expected), polled, "lite pull with bySql(" + EXPRESSION + ")");
    }

    @Test
    @Timeout(120)
    void expressionThatDoesNotCompileFailsConsumerStart() throws Exception {
        sendOnce();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "sql92_bad");
        consumer.subscribe(TOPIC, MessageSelector.bySql("a = = 1"));
        consumer.registerMessageListener(new Received(m -> m.getMsgId()).listener());
        closeAfterTest(consumer::shutdown);
        MQClientException e = assertThrows(MQClientException.class, consumer::start);
        assertEquals(23, e.getResponseCode(), "SUBSCRIPTION_PARSE_FAILED expected: " + e);
        assertTrue(e.getErrorMessage() != null && e.getErrorMessage().contains("ParseException")
                && e.getErrorMessage().contains("line 1, column 5"), "remark: " + e.getErrorMessage());
    }

    @Test
    @Timeout(120)
    void brokerWithoutPropertyFilterRefusesSql92() throws Exception {
        try (FerrocketProcess plain = FerrocketProcess.start("Sql92FilterTest-disabled", BrokerConf.defaults())) {
            // clients shut down here, before their broker does
            DefaultMQProducer producer = Clients.producer(plain, "sql92_plain_producer");
            DefaultMQPushConsumer consumer = Clients.pushConsumer(plain, "sql92_plain");
            try {
                producer.start();
                SendResult result = producer.send(new Message(TOPIC, "TagA", "x".getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
                awaitRoute(plain, TOPIC);

                consumer.subscribe(TOPIC, MessageSelector.bySql("a > 1"));
                consumer.registerMessageListener(new Received(m -> m.getMsgId()).listener());
                MQClientException e = assertThrows(MQClientException.class, consumer::start);
                assertEquals(1, e.getResponseCode(), "SYSTEM_ERROR expected: " + e);
                assertEquals("The broker does not support consumer to filter message by SQL92", e.getErrorMessage());
            } finally {
                consumer.shutdown();
                producer.shutdown();
            }
        }
    }

    /** Sends COUNT messages once per class: TagA/TagB alternating, colors cycling, `a = i` except every 10th. */
    private List<String> sendOnce() throws Exception {
        if (wanted != null) {
            return wanted;
        }
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "sql92_producer"));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < COUNT; i++) {
            String tag = i % 2 == 0 ? "TagA" : "TagB";
            String color = COLORS[i % COLORS.length];
            String body = "sql-" + i;
            Message message = new Message(TOPIC, tag, body.getBytes(StandardCharsets.UTF_8));
            message.putUserProperty("color", color);
            boolean hasA = i % 10 != 0;
            if (hasA) {
                message.putUserProperty("a", String.valueOf(i));
            }
            SendResult result = producer.send(message);
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            if ((tag.equals("TagA") || color.equals("blue")) && hasA && i >= 20) {
                expected.add(body);
            }
        }
        awaitRoute(ferrocket, TOPIC);
        wanted = expected;
        return expected;
    }
}
