package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
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
 * Delay levels 1-18 (Message.setDelayTimeLevel) with a configured messageDelayLevel table: each message waits in
 * SCHEDULE_TOPIC_XXXX and reaches its topic no earlier than its level's delay, also across a graceful restart
 * and a kill -9, and delayOffset.json keeps delivered levels from being delivered again.
 */
class DelayLevelTest extends FerrocketTestBase {
    /** Level n waits n seconds, so the whole table runs in under 20 s. */
    private static final String LEVELS = "1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 11s 12s 13s 14s 15s 16s 17s 18s";

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults().set("messageDelayLevel", LEVELS);
    }

    @Test
    @Timeout(180)
    void everyLevelIsDeliveredNoEarlierThanItsDelay() throws Exception {
        String topic = "DelayLevelTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "delay_levels_producer"));
        Map<String, Integer> levelOf = new HashMap<>();
        for (int level = 1; level <= 18; level++) {
            String body = "level-" + level;
            send(producer, topic, body, level);
            levelOf.put(body, level);
        }
        // A level above the table is capped to the highest level, as RocketMQ does.
        send(producer, topic, "level-40", 40);
        levelOf.put("level-40", 18);

        Received received = consume(topic, "delay_levels_group");
        List<String> expected = new ArrayList<>(levelOf.keySet());
        Await.until(Duration.ofSeconds(90), () -> received.containsAll(expected),
                () -> received.summary(expected));
        for (Map.Entry<String, Integer> e : levelOf.entrySet()) {
            assertNotEarly(received.deliveries(e.getKey()).get(0), e.getValue() * 1000L, e.getKey());
        }
    }

    @Test
    @Timeout(180)
    void pendingDelaysSurviveRestartAndKill() throws Exception {
        String topic = "DelayRestartTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "delay_restart_producer"));
        // Delivered before the graceful stop: delayOffset.json must keep them from coming again.
        send(producer, topic, "early-1", 1);
        send(producer, topic, "early-2", 2);
        Received received = consume(topic, "delay_restart_group");
        List<String> early = List.of("early-1", "early-2");
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(early), () -> received.summary(early));
        // Pending across the graceful restart.
        send(producer, topic, "graceful-8", 8);
        send(producer, topic, "graceful-9", 9);
        producer.shutdown();
        assertEquals(0, ferrocket.stopGracefully(Duration.ofSeconds(30)));
        Path delayOffset = ferrocket.storeDir().resolve("config").resolve("delayOffset.json");
        assertTrue(Files.exists(delayOffset), "the graceful stop should write " + delayOffset);
        String saved = Files.readString(delayOffset);
        assertTrue(saved.contains("offsetTable"), "delayOffset.json: " + saved);
        ferrocket.start();

        // Pending across a kill -9.
        DefaultMQProducer again = start(Clients.producer(ferrocket, "delay_restart_producer_2"));
        send(again, topic, "killed-6", 6);
        send(again, topic, "killed-7", 7);
        Thread.sleep(1500);
        ferrocket.destroyForcibly();
        ferrocket.start();

        List<String> all = List.of("early-1", "early-2", "graceful-8", "graceful-9", "killed-6", "killed-7");
        Await.until(Duration.ofSeconds(90), () -> received.containsAll(all), () -> received.summary(all));
        for (String key : all) {
            long level = Long.parseLong(key.substring(key.indexOf('-') + 1));
            assertNotEarly(received.deliveries(key).get(0), level * 1000L, key);
        }
        Await.quietPeriod(Duration.ofSeconds(3));
        for (String key : early) {
            assertEquals(1, received.deliveries(key).size(),
                    key + " was delivered before the graceful restart and must not come again: "
                            + received.deliveries(key));
        }
    }

    private Received consume(String topic, String group) throws Exception {
        awaitRoute(ferrocket, topic);
        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(received.listener());
        start(consumer);
        return received;
    }

    private static void send(DefaultMQProducer producer, String topic, String body, int level) throws Exception {
        Message msg = new Message(topic, "TagA", body.getBytes(StandardCharsets.UTF_8));
        msg.setDelayTimeLevel(level);
        SendResult result = producer.send(msg);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
    }

    /** The message was stored in its topic at least `delayMs` after the producer created it. */
    static void assertNotEarly(MessageExt delivered, long delayMs, String what) {
        long waited = delivered.getStoreTimestamp() - delivered.getBornTimestamp();
        assertTrue(waited >= delayMs, what + " reached its topic " + waited + " ms after it was sent, before its "
                + delayMs + " ms delay: " + delivered);
        assertEquals(null, delivered.getProperty("DELAY"), what + " still carries its DELAY level: " + delivered);
    }
}
