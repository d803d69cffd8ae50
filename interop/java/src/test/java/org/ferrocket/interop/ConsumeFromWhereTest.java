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
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
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
        // the listener has seen every message, but the offset of the last one it saw is taken only
        // after it returns: let shutdown wait for the consume threads before it persists the group's
        // offsets on the broker (by default it does not wait, and that queue would be read again)
        consumer.setAwaitTerminationMillisWhenShutdown(10_000);
        consumer.shutdown();

        List<String> second = send(producer, topic, "second", OLD);
        Received after = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        consumer(ferrocket, group, topic, ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, 0, after);
        Await.until(Duration.ofSeconds(30), () -> after.containsAll(second), () -> after.summary(second));
        Await.quietPeriod(Duration.ofSeconds(1));
        assertTrue(after.missing(first).size() == first.size(),
                "FIRST re-read messages behind the committed offset: " + after.keys());
    }

    @Test
    @Timeout(180)
    void newGroupAppliesLastFirstAndTimestampOnceTheFirstMessageIsOnDisk() throws Exception {
        // accessMessageInMemoryMaxRatio=0: no stored message counts as in memory, so the broker answers
        // QUERY_NOT_FOUND for a new group and the client's consumeFromWhere decides.
        BrokerConf conf = BrokerConf.defaults().set("accessMessageInMemoryMaxRatio", "0");
        try (FerrocketProcess disk = FerrocketProcess.start("ConsumeFromWhereTest-onDisk", conf)) {
            String topic = "CfwDiskTopic";
            DefaultMQProducer producer = start(Clients.producer(disk, "cfw_disk_producer"));
            List<String> early = send(producer, topic, "early", OLD);
            awaitRoute(disk, topic);
            // TIMESTAMP has one-second resolution (yyyyMMddHHmmss): start the late part in a later second.
            long boundary = (System.currentTimeMillis() / 1000 + 2) * 1000;
            Thread.sleep(boundary - System.currentTimeMillis());
            List<String> late = send(producer, topic, "late", OLD);

            Received first = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
            Received last = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
            Received byTime = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
            List<DefaultMQPushConsumer> consumers = List.of(
                    consumer(disk, "cfw_disk_first", topic, ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, 0, first),
                    consumer(disk, "cfw_disk_last", topic, ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET, 0, last),
                    consumer(disk, "cfw_disk_time", topic, ConsumeFromWhere.CONSUME_FROM_TIMESTAMP, boundary,
                            byTime));
            // Each consumer fixes its start offsets when it takes the queues; only then send the newest part.
            for (DefaultMQPushConsumer c : consumers) {
                Await.until(Duration.ofSeconds(30), () -> queuesTaken(c, topic) == 4,
                        () -> c.getConsumerGroup() + " took " + queuesTaken(c, topic) + " of 4 queues");
            }
            List<String> newest = send(producer, topic, "newest", OLD);

            List<String> all = new ArrayList<>(early);
            all.addAll(late);
            all.addAll(newest);
            List<String> lateAndNewest = new ArrayList<>(late);
            lateAndNewest.addAll(newest);
            Await.until(Duration.ofSeconds(60), () -> first.containsAll(all) && last.containsAll(newest)
                            && byTime.containsAll(lateAndNewest),
                    () -> "FIRST " + first.summary(all) + "; LAST " + last.summary(newest) + "; TIMESTAMP "
                            + byTime.summary(lateAndNewest));
            Await.quietPeriod(Duration.ofSeconds(1));
            assertEquals(newest.size(), last.distinct(), "LAST starts at the queues' max offset: " + last.keys());
            assertEquals(lateAndNewest.size(), byTime.distinct(),
                    "TIMESTAMP starts at the first message stored at or after it: " + byTime.keys());
            for (DefaultMQPushConsumer c : consumers) {
                c.shutdown();
            }
        }
    }

    private static int queuesTaken(DefaultMQPushConsumer consumer, String topic) {
        int n = 0;
        for (MessageQueue mq : consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable()
                .keySet()) {
            if (mq.getTopic().equals(topic)) {
                n++;
            }
        }
        return n;
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
