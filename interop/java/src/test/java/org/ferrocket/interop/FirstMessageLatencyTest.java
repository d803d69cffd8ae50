package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A push consumer of a new group, started right after the producer has sent, receives its first message within
 * seconds, round after round. The client raises its subscription version when its first rebalance assigns it
 * queues and tells the broker with a heartbeat; a pull that overtakes that heartbeat must not leave the consumer
 * idle until the next periodic heartbeat (30 s). The client's heartbeats are slowed a little, so that its periodic
 * heartbeat (one second after start) still holds the heartbeat lock when the first rebalance wants to send its own.
 *
 * <p>The same scenario measures another broker for comparison (docs/COMPATIBILITY.md): with the system property
 * {@code firstMessage.namesrv} the clients use that name server (and whatever broker is registered there, e.g. an
 * Apache broker) instead of the class's ferrocket, and {@code firstMessage.rounds} sets how many rounds run; every
 * round then runs and is reported, even after one exceeded the bound.
 */
class FirstMessageLatencyTest extends FerrocketTestBase {
    private static final String TOPIC = "FirstMessageLatency";
    private static final int ROUNDS = 10;
    /** Generous: a healthy start takes well under a second; a missed heartbeat costs up to 30 s. */
    private static final Duration BOUND = Duration.ofSeconds(10);
    /** How long a round waits, beyond the bound, so that a failure reports the real delay. */
    private static final Duration ROUND_WAIT = Duration.ofSeconds(40);
    /** RequestCode.HEART_BEAT. */
    private static final int HEART_BEAT = 34;
    /** How long each heartbeat of the consumer is held before it is sent. */
    private static final Duration SLOW_HEARTBEAT = Duration.ofMillis(300);
    /** RequestCode.PULL_MESSAGE. */
    private static final int PULL_MESSAGE = 11;
    /** ResponseCode.SUBSCRIPTION_NOT_EXIST and SUBSCRIPTION_NOT_LATEST. */
    private static final int SUBSCRIPTION_NOT_EXIST = 24;
    private static final int SUBSCRIPTION_NOT_LATEST = 25;
    /** Another broker's name server to measure instead of ferrocket (see the class comment), or null. */
    private static final String COMPARED_NAMESRV =
            System.getProperty("firstMessage.namesrv", "").isBlank() ? null : System.getProperty("firstMessage.namesrv");

    @Test
    @Timeout(600)
    void aNewPushConsumerReceivesItsFirstMessageWithinSeconds() throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, "first_latency_producer");
        producer.setNamesrvAddr(nameServer());
        start(producer);
        for (int i = 0; i < 16; i++) {
            Message message = new Message(TOPIC, "TagA", ("first-latency-" + i).getBytes(StandardCharsets.UTF_8));
            assertEquals(SendStatus.SEND_OK, producer.send(message).getSendStatus(), "send #" + i);
        }
        if (COMPARED_NAMESRV == null) {
            awaitRoute(ferrocket, TOPIC);
        } else {
            // a broker that registers new topics before answering the send needs no wait (Apache 5.x)
            Thread.sleep(3_000);
        }

        List<String> rounds = new ArrayList<>();
        boolean allWithinBound = true;
        int roundCount = Integer.getInteger("firstMessage.rounds", ROUNDS);
        for (int round = 0; round < roundCount && (allWithinBound || COMPARED_NAMESRV != null); round++) {
            Duration took = firstMessageDelay("first_latency_" + round, rounds);
            allWithinBound &= took.compareTo(BOUND) < 0;
        }
        System.out.println("first message after consumer start:\n" + String.join("\n", rounds));
        assertTrue(allWithinBound, "a new push consumer waited " + BOUND.getSeconds()
                + " s or more for its first message; rounds (time to first message, refused pulls):\n"
                + String.join("\n", rounds));
    }

    /** The name server of the broker under test: the class's ferrocket unless another one is compared. */
    private String nameServer() {
        return COMPARED_NAMESRV == null ? ferrocket.nameServerAddress() : COMPARED_NAMESRV;
    }

    /** Starts a consumer of a fresh group and returns how long its first message took (ROUND_WAIT at most). */
    private Duration firstMessageDelay(String group, List<String> report) throws Exception {
        AtomicInteger notLatest = new AtomicInteger();
        AtomicInteger notExist = new AtomicInteger();
        RPCHook pulls = new RPCHook() {
            @Override
            public void doBeforeRequest(String remoteAddr, RemotingCommand request) {
                if (request.getCode() == HEART_BEAT) {
                    // A heartbeat that takes a while on the wire, as on a loaded network: the client holds its
                    // heartbeat lock meanwhile, which widens the race with the first rebalance's heartbeat.
                    try {
                        Thread.sleep(SLOW_HEARTBEAT.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }

            @Override
            public void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
                if (response == null || request.getCode() != PULL_MESSAGE) {
                    return;
                }
                if (response.getCode() == SUBSCRIPTION_NOT_LATEST) {
                    notLatest.incrementAndGet();
                } else if (response.getCode() == SUBSCRIPTION_NOT_EXIST) {
                    notExist.incrementAndGet();
                }
            }
        };
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group, pulls, new AllocateMessageQueueAveragely());
        consumer.setNamesrvAddr(nameServer());
        consumer.setInstanceName(Clients.uniqueInstanceName(group));
        consumer.setVipChannelEnabled(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        AtomicLong firstAt = new AtomicLong();
        consumer.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
                (messages, context) -> {
                    firstAt.compareAndSet(0, System.nanoTime());
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
        long started = System.nanoTime();
        start(consumer);
        long deadline = started + ROUND_WAIT.toNanos();
        while (firstAt.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        consumer.shutdown();
        long end = firstAt.get() == 0 ? System.nanoTime() : firstAt.get();
        Duration took = Duration.ofNanos(end - started);
        report.add(String.format("  %s: %s%.1f s, %d SUBSCRIPTION_NOT_LATEST, %d SUBSCRIPTION_NOT_EXIST", group,
                firstAt.get() == 0 ? "nothing after " : "", took.toMillis() / 1000.0, notLatest.get(),
                notExist.get()));
        return took;
    }
}
