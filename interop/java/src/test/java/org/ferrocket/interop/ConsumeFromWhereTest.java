package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerQueries;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketProcess;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * consumeFromWhere for a group the broker has no offset for. The client asks QUERY_CONSUMER_OFFSET first; only
 * when the broker answers QUERY_NOT_FOUND (22) does it apply FIRST (offset 0), LAST (the queue's max offset) or
 * TIMESTAMP (SEARCH_OFFSET_BY_TIMESTAMP). Like Apache RocketMQ, the broker answers offset 0 instead while the
 * queue still starts at offset 0 and that message is in memory, so a new group on a young topic reads
 * everything whatever it asked for; a group with a committed offset always resumes from it.
 */
class ConsumeFromWhereTest extends FerrocketTestBase {
    private static final int OLD = 20;

    @Test
    @Timeout(60)
    void brokerAnswersZeroForAYoungQueueAndNotFoundForAnEmptyOne() throws Exception {
        String topic = "CfwQueryTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "cfw_query_producer"));
        SendResult r = producer.send(new Message(topic, "x".getBytes(StandardCharsets.UTF_8)));
        int used = r.getMessageQueue().getQueueId();
        int empty = (used + 1) % 4;
        try (BrokerQueries broker = new BrokerQueries(ferrocket)) {
            RemotingCommand young = broker.queryConsumerOffset("cfw_new_group", topic, used);
            assertEquals(0, young.getCode(), "queue with its first message in memory: " + young.getRemark());
            assertEquals("0", young.getExtFields().get("offset"));
            RemotingCommand none = broker.queryConsumerOffset("cfw_new_group", topic, empty);
            assertEquals(BrokerQueries.QUERY_NOT_FOUND, none.getCode(), "empty queue: " + none.getRemark());
        }
    }

    @Test
    @Timeout(120)
    void newGroupOnAYoungTopicReadsFromTheFirstMessageWhateverItAsks() throws Exception {
        String topic = "CfwYoungTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "cfw_young_producer"));
        List<String> old = send(producer, topic, "old", OLD);
        long afterOld = System.currentTimeMillis() + 1000;
        awaitRoute(ferrocket, topic);
        for (ConsumeFromWhere where : List.of(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
                ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET, ConsumeFromWhere.CONSUME_FROM_TIMESTAMP)) {
            Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
            DefaultMQPushConsumer consumer = consumer(ferrocket, "cfw_young_" + where.name().toLowerCase(), topic,
                    where, afterOld, received);
            Await.until(Duration.ofSeconds(30), () -> received.containsAll(old),
                    () -> where + ": " + received.summary(old));
            consumer.shutdown();
        }
    }

    @Test
    @Timeout(120)
    void groupWithCommittedOffsetResumesFromItWhateverItAsks() throws Exception {
        String topic = "CfwResumeTopic";
        String group = "cfw_resume_group";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "cfw_resume_producer"));
        List<String> first = send(producer, topic, "first", OLD);
        awaitRoute(ferrocket, topic);
        Received before = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = consumer(ferrocket, group, topic,
                ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, 0, before);
        Await.until(Duration.ofSeconds(30), () -> before.containsAll(first), () -> before.summary(first));
        consumer.shutdown(); // persists the group's offsets on the broker

        List<String> second = send(producer, topic, "second", OLD);
        Received after = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        consumer(ferrocket, group, topic, ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, 0, after);
        Await.until(Duration.ofSeconds(30), () -> after.containsAll(second), () -> after.summary(second));
        Await.quietPeriod(Duration.ofSeconds(1));
        assertTrue(after.missing(first).size() == first.size(),
                "FIRST re-read messages behind the committed offset: " + after.keys());
    }

    private DefaultMQPushConsumer consumer(FerrocketProcess server, String group, String topic,
                                           ConsumeFromWhere where, long timestamp, Received received)
            throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(server, group);
        consumer.setConsumeFromWhere(where);
        if (where == ConsumeFromWhere.CONSUME_FROM_TIMESTAMP) {
            consumer.setConsumeTimestamp(UtilAll.timeMillisToHumanString3(timestamp));
        }
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        return start(consumer);
    }

    static List<String> send(DefaultMQProducer producer, String topic, String prefix, int count) throws Exception {
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String text = prefix + "-" + i;
            SendResult r = producer.send(new Message(topic, text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            sent.add(text);
        }
        return sent;
    }
}
