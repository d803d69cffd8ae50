package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RocketMQ 5 timer messages: a message with TIMER_DELIVER_MS (5.x Message.setDeliverTimeMs) or TIMER_DELAY_SEC
 * / TIMER_DELAY_MS reaches its topic no earlier than asked, also when the broker restarts or is killed before
 * it is due; one beyond timerMaxDelaySec is refused.
 *
 * <p>The 4.9.x client has no timer setters; there the properties are set with Message.putUserProperty, which
 * that client allows because it does not reserve the TIMER_* names. The test checks which API the client on the
 * class path offers, so each client line is tested on its own path.
 */
class TimerMessageTest extends FerrocketTestBase {
    private static final boolean CLIENT_5 = System.getProperty("interop.client.version", "5").startsWith("5");

    @Test
    void clientOffersTheDocumentedTimerApi() {
        assertEquals(CLIENT_5, hasMethod("setDeliverTimeMs"),
                "client " + System.getProperty("interop.client.version") + ": Message.setDeliverTimeMs present?");
        assertEquals(CLIENT_5, hasMethod("setDelayTimeSec"),
                "client " + System.getProperty("interop.client.version") + ": Message.setDelayTimeSec present?");
    }

    @Test
    @Timeout(120)
    void timersAreDeliveredNoEarlierThanRequested() throws Exception {
        String topic = "TimerTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "timer_producer"));
        Map<String, Long> notBefore = new LinkedHashMap<>();
        long now = System.currentTimeMillis();
        for (int i = 0; i < 5; i++) {
            long at = now + 2000 + i * 700L;
            Message msg = message(topic, "deliver-" + i);
            deliverAt(msg, at);
            send(producer, msg);
            notBefore.put("deliver-" + i, at);
        }
        long sentAt = System.currentTimeMillis();
        Message bySeconds = message(topic, "delay-sec");
        delaySeconds(bySeconds, 3);
        send(producer, bySeconds);
        notBefore.put("delay-sec", sentAt + 3000);
        // A time already past is delivered at once.
        Message past = message(topic, "past");
        deliverAt(past, now - 60_000);
        send(producer, past);
        notBefore.put("past", 0L);

        Received received = consume(topic, "timer_group");
        List<String> all = new ArrayList<>(notBefore.keySet());
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(all), () -> received.summary(all));
        for (Map.Entry<String, Long> e : notBefore.entrySet()) {
            MessageExt m = received.deliveries(e.getKey()).get(0);
            assertTrue(m.getStoreTimestamp() >= e.getValue(), e.getKey() + " stored in " + topic + " at "
                    + m.getStoreTimestamp() + ", before its delivery time " + e.getValue() + ": " + m);
            assertNull(m.getProperty("REAL_TOPIC"), e.getKey() + " still carries REAL_TOPIC: " + m);
            if (!e.getKey().equals("past")) {
                assertNotNull(m.getProperty("TIMER_OUT_MS"), e.getKey() + " should carry TIMER_OUT_MS: " + m);
            }
        }
    }

    @Test
    @Timeout(180)
    void pendingTimersSurviveRestartAndKill() throws Exception {
        String topic = "TimerRestartTopic";
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "timer_restart_producer"));
        Map<String, Long> notBefore = new LinkedHashMap<>();
        long now = System.currentTimeMillis();
        // Delivered before the graceful stop; config/timercheck must keep it from coming again.
        Message early = message(topic, "early");
        deliverAt(early, now + 1000);
        send(producer, early);
        notBefore.put("early", now + 1000);
        Received received = consume(topic, "timer_restart_group");
        Await.until(Duration.ofSeconds(30), () -> received.containsAll(List.of("early")),
                () -> received.summary(List.of("early")));
        // Pending across the graceful stop that follows at once.
        long beforeStop = System.currentTimeMillis();
        for (int i = 0; i < 4; i++) {
            long at = beforeStop + 6000 + i * 500L;
            Message msg = message(topic, "graceful-" + i);
            deliverAt(msg, at);
            send(producer, msg);
            notBefore.put("graceful-" + i, at);
        }
        producer.shutdown();

        assertEquals(0, ferrocket.stopGracefully(Duration.ofSeconds(30)));
        Path checkpoint = ferrocket.storeDir().resolve("config").resolve("timercheck");
        assertTrue(Files.exists(checkpoint), "the graceful stop should write " + checkpoint);
        ferrocket.start();

        DefaultMQProducer again = start(Clients.producer(ferrocket, "timer_restart_producer_2"));
        long later = System.currentTimeMillis();
        for (int i = 0; i < 2; i++) {
            long at = later + 6000 + i * 500L;
            Message msg = message(topic, "killed-" + i);
            deliverAt(msg, at);
            send(again, msg);
            notBefore.put("killed-" + i, at);
        }
        Thread.sleep(1500);
        ferrocket.destroyForcibly();
        ferrocket.start();

        List<String> all = new ArrayList<>(notBefore.keySet());
        Await.until(Duration.ofSeconds(90), () -> received.containsAll(all), () -> received.summary(all));
        for (Map.Entry<String, Long> e : notBefore.entrySet()) {
            MessageExt m = received.deliveries(e.getKey()).get(0);
            assertTrue(m.getStoreTimestamp() >= e.getValue(), e.getKey() + " stored in " + topic + " at "
                    + m.getStoreTimestamp() + ", before its delivery time " + e.getValue() + ": " + m);
        }
        Await.quietPeriod(Duration.ofSeconds(3));
        assertEquals(1, received.deliveries("early").size(),
                "early was delivered before the graceful restart and must not come again: "
                        + received.deliveries("early"));
    }

    @Test
    void timerBeyondMaxDelayIsRefused() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "timer_refused_producer"));
        producer.setRetryTimesWhenSendFailed(0);
        Message msg = message("TimerRefusedTopic", "too-late");
        deliverAt(msg, System.currentTimeMillis() + Duration.ofDays(4).toMillis());
        MQBrokerException e = assertThrows(MQBrokerException.class, () -> producer.send(msg));
        assertEquals(13, e.getResponseCode(), "MESSAGE_ILLEGAL expected: " + e);
        assertTrue(e.getErrorMessage().contains("timer message illegal"), e.getErrorMessage());
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

    private static Message message(String topic, String body) {
        return new Message(topic, "TagA", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(DefaultMQProducer producer, Message msg) throws Exception {
        SendResult result = producer.send(msg);
        assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
    }

    private static boolean hasMethod(String name) {
        try {
            Message.class.getMethod(name, long.class);
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** 5.x: Message.setDeliverTimeMs; 4.9.x: the TIMER_DELIVER_MS user property. */
    private static void deliverAt(Message msg, long epochMs) throws Exception {
        if (CLIENT_5) {
            Method m = Message.class.getMethod("setDeliverTimeMs", long.class);
            m.invoke(msg, epochMs);
        } else {
            msg.putUserProperty("TIMER_DELIVER_MS", String.valueOf(epochMs));
        }
        assertEquals(String.valueOf(epochMs), msg.getProperty("TIMER_DELIVER_MS"));
    }

    /** 5.x: Message.setDelayTimeSec; 4.9.x: the TIMER_DELAY_SEC user property. */
    private static void delaySeconds(Message msg, long seconds) throws Exception {
        if (CLIENT_5) {
            Message.class.getMethod("setDelayTimeSec", long.class).invoke(msg, seconds);
        } else {
            msg.putUserProperty("TIMER_DELAY_SEC", String.valueOf(seconds));
        }
        assertEquals(String.valueOf(seconds), msg.getProperty("TIMER_DELAY_SEC"));
    }
}
