package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.trace.TraceView;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Message trace ({@code enableMsgTrace}): a producer and a push consumer with tracing on write Pub, SubBefore and
 * SubAfter records to the trace topic, keyed by the traced message ids; they are found as mqadmin's
 * {@code queryMsgTraceById} finds them (QUERY_MESSAGE by key on the trace topic) and decoded with the client's own
 * {@code TraceView}. Runs with the default trace topic, which the broker creates at start ({@code
 * traceTopicEnable}), and with a custom one, auto-created by the first trace send.
 */
class TraceTest extends FerrocketTestBase {
    private static final String DEFAULT_TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC";
    private static final int COUNT = 4;
    private static final Duration TRACED = Duration.ofSeconds(30);

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults().set("traceTopicEnable", "true");
    }

    @Test
    @Timeout(90)
    void defaultTraceTopicHoldsPubSubBeforeAndSubAfter() throws Exception {
        // traceTopicEnable: the broker creates the trace topic at start, before anything was traced
        awaitRoute(ferrocket, DEFAULT_TRACE_TOPIC);
        traceRoundTrip("TraceDefaultTopic", null, DEFAULT_TRACE_TOPIC);
    }

    @Test
    @Timeout(90)
    void customTraceTopicHoldsPubSubBeforeAndSubAfter() throws Exception {
        traceRoundTrip("TraceCustomTopic", "TraceTest_custom_trace", "TraceTest_custom_trace");
    }

    private void traceRoundTrip(String topic, String customTraceTopic, String traceTopic) throws Exception {
        String producerGroup = topic + "_producer";
        String consumerGroup = topic + "_consumer";
        DefaultMQProducer producer = new DefaultMQProducer(producerGroup, true, customTraceTopic);
        configure(producer, producerGroup);
        start(producer);

        List<String> ids = new ArrayList<>();
        for (int n = 0; n < COUNT; n++) {
            Message m = new Message(topic, "TagT", "key-" + n, ("trace-" + n).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
            ids.add(r.getMsgId());
        }

        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(consumerGroup, true, customTraceTopic);
        configure(consumer, consumerGroup);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        Received received = Received.byMsgId();
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(TRACED, () -> received.containsAll(ids), () -> received.summary(ids));

        DefaultMQProducer reader = start(Clients.producer(ferrocket, Clients.uniqueInstanceName("trace_reader")));
        for (String id : ids) {
            Map<String, List<TraceView>> byType = new TreeMap<>();
            Await.until(TRACED, () -> {
                byType.clear();
                byType.putAll(traces(reader, traceTopic, id));
                return byType.keySet().containsAll(List.of("Pub", "SubBefore", "SubAfter"));
            }, () -> "trace records of " + id + " in " + traceTopic + ": " + describe(byType));

            TraceView pub = byType.get("Pub").get(0);
            assertEquals(topic, pub.getTopic(), "Pub topic");
            assertEquals(producerGroup, pub.getGroupName(), "Pub group");
            assertEquals("TagT", pub.getTags(), "Pub tags");
            assertEquals("success", pub.getStatus(), "Pub status");
            assertTrue(pub.getStoreHost().endsWith(":" + ferrocket.brokerPort()), "Pub store host " + pub.getStoreHost());
            TraceView after = byType.get("SubAfter").get(0);
            assertEquals(consumerGroup, after.getGroupName(), "SubAfter group");
            assertEquals("success", after.getStatus(), "SubAfter status");
            assertEquals(consumerGroup, byType.get("SubBefore").get(0).getGroupName(), "SubBefore group");
        }
    }

    /** The trace records of one message, by type, as mqadmin queryMsgTraceById reads them. */
    private static Map<String, List<TraceView>> traces(DefaultMQProducer reader, String traceTopic, String msgId) {
        Map<String, List<TraceView>> byType = new TreeMap<>();
        try {
            QueryResult r = reader.queryMessage(traceTopic, msgId, 64, 0, Long.MAX_VALUE);
            for (MessageExt m : r.getMessageList()) {
                String data = new String(m.getBody(), StandardCharsets.UTF_8);
                for (TraceView v : TraceView.decodeFromTraceTransData(msgId, m)) {
                    byType.computeIfAbsent(v.getMsgType(), k -> new ArrayList<>()).add(v);
                }
                assertTrue(!data.isEmpty(), "trace message body");
            }
        } catch (Exception e) {
            // not indexed yet: "query message by key finished, but no message."
        }
        return byType;
    }

    private static String describe(Map<String, List<TraceView>> byType) {
        return byType.isEmpty() ? "none" : new TreeSet<>(byType.keySet()).toString();
    }

    private void configure(org.apache.rocketmq.client.ClientConfig client, String label) {
        client.setNamesrvAddr(ferrocket.nameServerAddress());
        client.setInstanceName(Clients.uniqueInstanceName(label));
        client.setVipChannelEnabled(false);
    }
}
