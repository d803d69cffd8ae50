package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Retention deletes old commit log files (fileReservedTime 0, every hour a deleteWhen hour), the consume queue's
 * min offset follows, and a consumer group whose committed offset is now below it gets PULL_OFFSET_MOVED: the
 * official push consumer moves to the new min offset and consumes everything from there.
 */
class RetentionTest extends FerrocketTestBase {
    private static final String TOPIC = "RetentionTopic";
    private static final String GROUP = "retention_group";
    private static final int EARLY = 10;
    private static final int LATER = 300;

    @Override
    protected BrokerConf brokerConf() {
        String everyHour = IntStream.range(0, 24).mapToObj(h -> String.format("%02d", h))
                .collect(Collectors.joining(";"));
        return BrokerConf.defaults()
                .set("mappedFileSizeCommitLog", "65536")
                .set("mappedFileSizeConsumeQueue", "400")
                .set("fileReservedTime", "0")
                .set("deleteWhen", everyHour)
                .set("cleanResourceInterval", "200")
                .set("deleteCommitLogFilesInterval", "0")
                .set("deleteConsumeQueueFilesInterval", "0");
    }

    @Test
    @Timeout(300)
    void consumerBehindTheMinOffsetIsMovedForwardAndContinues() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "retention_producer"));
        SendResult first = producer.send(new Message(TOPIC, "early-0".getBytes(StandardCharsets.UTF_8)));
        MessageQueue mq = first.getMessageQueue();
        assertEquals(0, first.getQueueOffset());
        for (int i = 1; i < EARLY; i++) {
            send(producer, mq, ("early-" + i).getBytes(StandardCharsets.UTF_8));
        }
        awaitRoute(ferrocket, TOPIC);

        // The group consumes the early messages and stops with its offset at EARLY.
        Set<Long> early = new ConcurrentSkipListSet<>();
        DefaultMQPushConsumer consumer = consumer(early);
        Await.until(Duration.ofSeconds(60), () -> early.size() >= EARLY, () -> "early offsets consumed: " + early);
        Await.quietPeriod(Duration.ofSeconds(1));
        consumer.shutdown();

        // Later messages fill several commit log files; retention deletes all but the newest.
        byte[] body = new byte[1000];
        Arrays.fill(body, (byte) 'x');
        for (int i = 0; i < LATER; i++) {
            send(producer, mq, body);
        }
        // wait until the clean runs are done: the min offset is past EARLY and stays put
        long[] min = {0};
        Await.stable(Duration.ofSeconds(60), Duration.ofSeconds(3), () -> {
            long previous = min[0];
            try {
                min[0] = producer.minOffset(mq);
            } catch (MQClientException e) {
                throw new IllegalStateException("minOffset failed", e);
            }
            return min[0] > EARLY && min[0] == previous;
        }, () -> "the queue min offset never settled past " + EARLY + " (it is " + min[0] + ")");
        long end = EARLY + LATER;
        assertTrue(min[0] < end, "min offset " + min[0]);

        // The group comes back at offset EARLY, below the min: it is moved forward and reads on.
        Set<Long> later = new ConcurrentSkipListSet<>();
        consumer(later);
        Set<Long> expected = LongStream.range(min[0], end).boxed().collect(Collectors.toCollection(TreeSet::new));
        Await.until(Duration.ofSeconds(180), () -> later.containsAll(expected),
                () -> "min offset " + min[0] + ", consumed " + later.size() + " offsets from "
                        + (later.isEmpty() ? "-" : later.iterator().next()));
        assertTrue(later.stream().allMatch(o -> o >= min[0]), "nothing below the min offset is delivered: " + later);
    }

    private static void send(DefaultMQProducer producer, MessageQueue mq, byte[] body) throws Exception {
        SendResult r = producer.send(new Message(TOPIC, body), mq);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
    }

    private DefaultMQPushConsumer consumer(Set<Long> offsets) throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, GROUP);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                offsets.add(m.getQueueOffset());
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return start(consumer);
    }
}
