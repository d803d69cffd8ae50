package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketNode;
import org.ferrocket.interop.support.FreePorts;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A push consumer group keeps consuming through a master outage. A SYNC_MASTER and its slave take a steady
 * stream of messages from the official producer while a deliberately slow push consumer works through them, so
 * a backlog of acknowledged (hence replicated) messages is waiting when the master is killed with SIGKILL. The
 * consumer then drains that backlog from the slave and commits its offsets there; the master restarts, sending
 * resumes, and every acknowledged message is consumed.
 *
 * <p>The bound on duplicates, derived from the Apache clients and brokers (docs/REPLICATION.md, "Consumer
 * offsets across a master outage"): a running push consumer keeps each queue's next pull offset and its
 * consumed offset in memory and reads a committed offset from a broker only when a queue is newly assigned to
 * it. Killing the master changes neither the queues of the topic (the name server keeps them while the slave
 * is registered) nor the group's members (the consumer heartbeats to the slave too), so no queue is
 * reassigned; pulls move to the slave at the same offsets, commits go to the slave, and when the master returns
 * the client's next pull and its periodic commit carry the in-memory offset to the master before
 * SlaveSynchronize copies the master's older values back. An Apache pair therefore consumes no message twice
 * in this scenario (measured: docs/REPLICATION.md), and neither may Ferrocket.
 */
class ReplicationConsumerOutageTest {
    private static final String TOPIC = "OutageTopic";
    private static final String GROUP = "outage_group";
    private static final int QUEUES = 4;
    /** Acknowledged messages before the kill, and again after the master is back. */
    private static final int BEFORE_KILL = 300;
    private static final int AFTER_RESTART = 100;
    /** The consumer's pace: at most ~100 messages a second, slower than the producer. */
    private static final long CONSUME_MILLIS = 10;
    /** Apache's duplicates in this scenario (see the class comment). */
    private static final int DUPLICATE_BOUND = 0;

    private static final int QUERY_CONSUMER_OFFSET = 14;
    private static final int UPDATE_AND_CREATE_TOPIC = 17;
    private static final int GET_ALL_TOPIC_CONFIG = 21;
    private static final int GET_MAX_OFFSET = 30;

    private final List<FerrocketNode> nodes = new ArrayList<>();
    private final List<Runnable> shutdown = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        shutdown.forEach(Runnable::run);
        for (FerrocketNode node : nodes) {
            node.close();
        }
    }

    private FerrocketNode start(FerrocketNode node) throws Exception {
        nodes.add(node);
        return node.start();
    }

    private static BrokerConf conf(int brokerId, String role, int port, int haPort, String namesrv) {
        return BrokerConf.defaults()
                .set("brokerName", "broker-a")
                .set("brokerId", String.valueOf(brokerId))
                .set("brokerRole", role)
                .set("listenPort", String.valueOf(port))
                .set("haListenPort", String.valueOf(haPort))
                .set("namesrvAddr", namesrv)
                .set("consoleEnable", "false")
                .set("autoCreateTopicEnable", "false")
                .set("haSendHeartbeatInterval", "1000")
                .set("mappedFileSizeCommitLog", String.valueOf(4 * 1024 * 1024));
    }

    @Test
    @Timeout(240)
    void pushConsumerKeepsConsumingFromTheSlaveThroughAMasterOutage() throws Exception {
        int nsPort = FreePorts.next();
        start(FerrocketNode.nameServer("outage-namesrv", nsPort));
        String namesrv = "127.0.0.1:" + nsPort;
        int port = FreePorts.next();
        int haPort = FreePorts.next();
        int slavePort = FreePorts.next();
        String master = "127.0.0.1:" + port;
        String slave = "127.0.0.1:" + slavePort;
        FerrocketNode masterNode = start(FerrocketNode.broker("outage-master",
                conf(0, "SYNC_MASTER", port, haPort, namesrv)));
        FerrocketNode slaveNode = start(FerrocketNode.broker("outage-slave",
                conf(1, "SLAVE", slavePort, FreePorts.next(), namesrv)
                        .set("haMasterAddress", "127.0.0.1:" + haPort)));

        try (RawRemoting raw = new RawRemoting()) {
            createTopic(raw, master);
            // SlaveSynchronize copies the topic within 10 s; a slave without it cannot serve it
            Await.until(Duration.ofSeconds(60), () -> knowsTopic(raw, slave),
                    () -> "the slave never learned " + TOPIC + slaveNode.describe());

            Stream stream = new Stream(namesrv);
            shutdown.add(stream::stop);
            Map<String, AtomicInteger> consumed = new ConcurrentHashMap<>();
            DefaultMQPushConsumer consumer = consumer(namesrv, consumed);
            shutdown.add(consumer::shutdown);
            consumer.start();
            stream.start();

            // A steady stream until BEFORE_KILL acknowledged messages; the consumer lags behind.
            Await.until(Duration.ofSeconds(60), () -> stream.acked.size() >= BEFORE_KILL,
                    () -> "acknowledged " + stream.acked.size() + ", last failure " + stream.lastFailure
                            + masterNode.describe());
            masterNode.kill();
            Set<String> ackedBeforeKill = Set.copyOf(stream.acked.keySet());
            // counted among the acknowledged ones: an unacknowledged send (SLAVE_NOT_AVAILABLE) is stored too
            int consumedAtKill = (int) ackedBeforeKill.stream().filter(consumed::containsKey).count();
            assertTrue(consumedAtKill < ackedBeforeKill.size(),
                    "a backlog is left for the slave: consumed " + consumedAtKill + " of " + ackedBeforeKill.size());

            // The master is down: every acknowledged message is consumed from the slave ...
            Await.until(Duration.ofSeconds(90), () -> consumed.keySet().containsAll(ackedBeforeKill),
                    () -> "consumed " + consumed.size() + " of " + ackedBeforeKill.size()
                            + " acknowledged messages while the master is down" + slaveNode.describe());
            // ... and the group's offsets are committed there, up to the end of each queue.
            // A pull that was in flight to the master when it died is failed by the client only when
            // it times out (consumerTimeoutMillisWhenSuspend, 30 s), so a queue whose last pull went
            // there settles about 31 s later; measured the same with an Apache pair
            // (interop/replication ApacheConsumerOutageTest).
            long settleStart = System.nanoTime();
            Await.until(Duration.ofSeconds(120), () -> committedUpToEnd(raw, slave),
                    () -> "the slave's committed offsets " + offsets(raw, slave, QUERY_CONSUMER_OFFSET)
                            + " never reached its queue ends " + offsets(raw, slave, GET_MAX_OFFSET)
                            + slaveNode.describe());
            System.out.printf("slave offsets settled %.1f s after the backlog was consumed%n",
                    (System.nanoTime() - settleStart) / 1e9);

            // The master returns and sending resumes.
            masterNode.start();
            int ackedAtRestart = stream.acked.size();
            Await.until(Duration.ofSeconds(90), () -> stream.acked.size() >= ackedAtRestart + AFTER_RESTART,
                    () -> "acknowledged after the restart: " + (stream.acked.size() - ackedAtRestart)
                            + ", last failure " + stream.lastFailure + masterNode.describe());
            stream.stop();

            Set<String> acked = Set.copyOf(stream.acked.keySet());
            Await.until(Duration.ofSeconds(60), () -> consumed.keySet().containsAll(acked),
                    () -> "consumed " + consumed.size() + " of " + acked.size() + " acknowledged messages"
                            + masterNode.describe());
            // Settled: the restarted master holds the group's offsets at the end of every queue, and the slave
            // has copied them (SlaveSynchronize), so nothing is left to be consumed again.
            Await.until(Duration.ofSeconds(30), () -> committedUpToEnd(raw, master),
                    () -> "the master's committed offsets " + offsets(raw, master, QUERY_CONSUMER_OFFSET)
                            + " never reached its queue ends " + offsets(raw, master, GET_MAX_OFFSET)
                            + masterNode.describe());
            // The slave learns the master's address again from its next registration with the name
            // server (every 30 s; one made before the master re-registered answers none, as Apache's
            // does) and copies offsets every 10 s after that: up to ~40 s.
            Await.until(Duration.ofSeconds(60), () -> committedUpToEnd(raw, slave),
                    () -> "the slave's committed offsets " + offsets(raw, slave, QUERY_CONSUMER_OFFSET)
                            + " after the master returned" + slaveNode.describe());

            List<String> twice = new ArrayList<>();
            consumed.forEach((body, n) -> {
                if (n.get() > 1) {
                    twice.add(body + " x" + n.get());
                }
            });
            System.out.printf("replication consumer outage: %d acknowledged, %d consumed (%d at the kill), "
                    + "%d consumed more than once%n", acked.size(), consumed.size(), consumedAtKill, twice.size());
            assertTrue(twice.size() <= DUPLICATE_BOUND,
                    twice.size() + " messages consumed more than once (bound " + DUPLICATE_BOUND + "), e.g. "
                            + twice.subList(0, Math.min(10, twice.size())));
        }
    }

    /** A slow push consumer (one thread, one message at a time) counting each body it consumes. */
    private static DefaultMQPushConsumer consumer(String namesrv, Map<String, AtomicInteger> consumed)
            throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(GROUP);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(Clients.uniqueInstanceName("outage-consumer"));
        consumer.setVipChannelEnabled(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(1);
        consumer.setConsumeThreadMax(1);
        consumer.setConsumeMessageBatchMaxSize(1);
        // short client intervals keep the test short; the failover logic is the client's own
        consumer.setPollNameServerInterval(1000);
        consumer.setPersistConsumerOffsetInterval(1000);
        consumer.setHeartbeatBrokerInterval(1000);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                consumed.computeIfAbsent(new String(m.getBody(), StandardCharsets.UTF_8), k -> new AtomicInteger())
                        .incrementAndGet();
            }
            try {
                Thread.sleep(CONSUME_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return consumer;
    }

    /** A producer thread sending one message after another; a send that fails is not retried. */
    private static final class Stream {
        final Map<String, Boolean> acked = new ConcurrentHashMap<>();
        final AtomicLong sent = new AtomicLong();
        volatile String lastFailure = "none";
        private volatile boolean running = true;
        private final DefaultMQProducer producer;
        private final Thread thread;

        Stream(String namesrv) throws Exception {
            producer = new DefaultMQProducer("outage_producer");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName(Clients.uniqueInstanceName("outage-producer"));
            producer.setVipChannelEnabled(false);
            producer.setSendMsgTimeout(3000);
            producer.setPollNameServerInterval(1000);
            producer.start();
            thread = new Thread(this::run, "outage-stream");
        }

        void start() {
            thread.start();
        }

        private void run() {
            while (running) {
                String body = "outage-" + sent.getAndIncrement();
                try {
                    SendResult r = producer.send(new Message(TOPIC, "t", body.getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.put(body, true);
                        continue;
                    }
                    lastFailure = r.toString();
                } catch (Exception e) {
                    lastFailure = e.toString();
                }
                try {
                    // no master (or no slave yet): the next attempt comes a little later
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() {
            running = false;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer.shutdown();
        }
    }

    private static void createTopic(RawRemoting raw, String broker) throws Exception {
        Map<String, String> f = new HashMap<>();
        f.put("topic", TOPIC);
        f.put("defaultTopic", "TBW102");
        f.put("readQueueNums", String.valueOf(QUEUES));
        f.put("writeQueueNums", String.valueOf(QUEUES));
        f.put("perm", "6");
        f.put("topicFilterType", "SINGLE_TAG");
        f.put("topicSysFlag", "0");
        f.put("order", "false");
        RemotingCommand r = raw.invoke(broker, UPDATE_AND_CREATE_TOPIC, f, null);
        assertEquals(RawRemoting.SUCCESS, r.getCode(), broker + ": " + r.getRemark());
    }

    /** The broker's topic table (GET_ALL_TOPIC_CONFIG) lists TOPIC. */
    private static boolean knowsTopic(RawRemoting raw, String broker) {
        try {
            RemotingCommand r = raw.invoke(broker, GET_ALL_TOPIC_CONFIG, new HashMap<>(), null);
            return r.getCode() == RawRemoting.SUCCESS
                    && new String(r.getBody(), StandardCharsets.UTF_8).contains("\"" + TOPIC + "\"");
        } catch (Exception e) {
            return false;
        }
    }

    /** The group's committed offset of every queue equals the queue's end on `broker`. */
    private static boolean committedUpToEnd(RawRemoting raw, String broker) {
        List<Long> committed = offsets(raw, broker, QUERY_CONSUMER_OFFSET);
        List<Long> ends = offsets(raw, broker, GET_MAX_OFFSET);
        return !committed.contains(-1L) && committed.equals(ends);
    }

    private static List<Long> offsets(RawRemoting raw, String broker, int code) {
        List<Long> out = new ArrayList<>();
        for (int q = 0; q < QUEUES; q++) {
            out.add(query(raw, broker, code, q));
        }
        return out;
    }

    private static long query(RawRemoting raw, String broker, int code, int queueId) {
        Map<String, String> f = new HashMap<>();
        f.put("consumerGroup", GROUP);
        f.put("topic", TOPIC);
        f.put("queueId", String.valueOf(queueId));
        try {
            RemotingCommand r = raw.invoke(broker, code, f, null);
            return r.getCode() == RawRemoting.SUCCESS ? Long.parseLong(r.getExtFields().get("offset")) : -1;
        } catch (Exception e) {
            return -1;
        }
    }
}
