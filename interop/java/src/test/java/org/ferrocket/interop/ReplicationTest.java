package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
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
 * RocketMQ's `2m-2s-sync` sample layout on Ferrocket: two name servers, masters broker-a and broker-b
 * (SYNC_MASTER) each with a slave (broker-a-s, broker-b-s), every broker a process of its own. The official
 * producer sends; a SYNC_MASTER answers SEND_OK only once its slave has the message, so after a SIGKILL of
 * broker-a every acknowledged message of broker-a is read back from its slave, and later from the restarted
 * master. The official lite pull consumer reads broker-a's queues from the slave while the master is down
 * (the route then lists only the slave); direct PULL_MESSAGE requests check each broker's copy.
 */
class ReplicationTest {
    private static final String TOPIC = "ReplicationTopic";
    private static final int QUEUES = 4;
    private static final int MESSAGES = 400;
    private static final int PULL_MESSAGE = 11;
    private static final int UPDATE_AND_CREATE_TOPIC = 17;

    private final List<FerrocketNode> nodes = new ArrayList<>();
    private final List<DefaultMQProducer> producers = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        producers.forEach(DefaultMQProducer::shutdown);
        for (FerrocketNode node : nodes) {
            node.close();
        }
    }

    private FerrocketNode start(FerrocketNode node) throws Exception {
        nodes.add(node);
        return node.start();
    }

    /** broker.conf of one member of the layout. */
    private static BrokerConf conf(String brokerName, int brokerId, String role, int port, int haPort,
                                   String namesrv) {
        return BrokerConf.defaults()
                .set("brokerName", brokerName)
                .set("brokerId", String.valueOf(brokerId))
                .set("brokerRole", role)
                .set("listenPort", String.valueOf(port))
                .set("haListenPort", String.valueOf(haPort))
                .set("namesrvAddr", namesrv)
                .set("consoleEnable", "false")
                .set("haSendHeartbeatInterval", "1000")
                .set("mappedFileSizeCommitLog", String.valueOf(4 * 1024 * 1024));
    }

    @Test
    @Timeout(300)
    void syncMastersKeepEveryAcknowledgedMessageOnTheirSlaves() throws Exception {
        int ns1 = FreePorts.next();
        int ns2 = FreePorts.next();
        start(FerrocketNode.nameServer("ha-namesrv-1", ns1));
        start(FerrocketNode.nameServer("ha-namesrv-2", ns2));
        String namesrv = "127.0.0.1:" + ns1 + ";127.0.0.1:" + ns2;

        Map<String, String> addr = new HashMap<>();
        Map<String, FerrocketNode> node = new HashMap<>();
        for (String name : List.of("broker-a", "broker-b")) {
            int port = FreePorts.next();
            int haPort = FreePorts.next();
            int slavePort = FreePorts.next();
            node.put(name, start(FerrocketNode.broker(name,
                    conf(name, 0, "SYNC_MASTER", port, haPort, namesrv))));
            BrokerConf slave = conf(name, 1, "SLAVE", slavePort, FreePorts.next(), namesrv)
                    .set("haMasterAddress", "127.0.0.1:" + haPort);
            node.put(name + "-s", start(FerrocketNode.broker(name + "-s", slave)));
            addr.put(name, "127.0.0.1:" + port);
            addr.put(name + "-s", "127.0.0.1:" + slavePort);
        }
        try (RawRemoting raw = new RawRemoting()) {
            // on the masters; the slaves take their topics from them (SlaveSynchronize)
            createTopic(raw, addr.get("broker-a"));
            createTopic(raw, addr.get("broker-b"));
            for (String slave : List.of("broker-a-s", "broker-b-s")) {
                Await.until(Duration.ofSeconds(60), () -> knowsTopic(raw, addr.get(slave)),
                        () -> slave + " never learned " + TOPIC + node.get(slave).describe());
            }

            DefaultMQProducer producer = new DefaultMQProducer("replication_producer");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName(Clients.uniqueInstanceName("replication"));
            producer.setSendMsgTimeout(10_000);
            producer.setVipChannelEnabled(false);
            producer.start();
            producers.add(producer);

            // Every send acknowledged SEND_OK: both slaves are connected and acknowledging.
            Map<String, Map<String, String>> acked = new HashMap<>();
            for (int i = 0; i < MESSAGES; i++) {
                String body = "replicated-" + i;
                SendResult r = send(producer, body);
                acked.computeIfAbsent(r.getMessageQueue().getBrokerName(), k -> new HashMap<>())
                        .put(body, r.getMessageQueue().getQueueId() + "@" + r.getQueueOffset());
            }
            assertEquals(2, acked.size(), "both masters took messages: " + acked.keySet());

            // broker-a crashes; broker-b keeps taking SYNC_MASTER sends.
            node.get("broker-a").kill();
            Map<String, String> onSlave = readAll(raw, addr.get("broker-a-s"));
            assertTrue(onSlave.entrySet().containsAll(acked.get("broker-a").entrySet()),
                    missing(acked.get("broker-a"), onSlave) + node.get("broker-a-s").describe());
            // The official consumer, finding no master of broker-a in the route, reads from its slave.
            Map<String, String> consumed = consumeFromSlave(namesrv, "broker-a", acked.get("broker-a"));
            assertTrue(consumed.entrySet().containsAll(acked.get("broker-a").entrySet()),
                    missing(acked.get("broker-a"), consumed));
            for (int i = 0; i < 50; i++) {
                SendResult r = send(producer, "after-crash-" + i);
                assertEquals("broker-b", r.getMessageQueue().getBrokerName(), r.toString());
            }

            // The restarted master serves the same messages at the same offsets.
            node.get("broker-a").start();
            Map<String, String> onMaster = readAll(raw, addr.get("broker-a"));
            assertTrue(onMaster.entrySet().containsAll(acked.get("broker-a").entrySet()),
                    missing(acked.get("broker-a"), onMaster));
            Map<String, String> onSlaveB = readAll(raw, addr.get("broker-b-s"));
            assertTrue(onSlaveB.entrySet().containsAll(acked.get("broker-b").entrySet()),
                    missing(acked.get("broker-b"), onSlaveB));
        }
    }

    /** A lite pull consumer of a new group, from the first offset, on the queues of `brokerName`. */
    private static Map<String, String> consumeFromSlave(String namesrv, String brokerName,
                                                       Map<String, String> expected) throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer("replication_reader");
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(Clients.uniqueInstanceName("replication-reader"));
        consumer.setVipChannelEnabled(false);
        consumer.setAutoCommit(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.start();
        try {
            List<MessageQueue> queues = new ArrayList<>();
            for (MessageQueue mq : consumer.fetchMessageQueues(TOPIC)) {
                if (mq.getBrokerName().equals(brokerName)) {
                    queues.add(mq);
                }
            }
            assertEquals(QUEUES, queues.size(), "queues of " + brokerName);
            consumer.assign(queues);
            Map<String, String> got = new HashMap<>();
            Await.until(Duration.ofSeconds(60), () -> {
                for (MessageExt m : consumer.poll(500)) {
                    got.put(new String(m.getBody(), StandardCharsets.UTF_8), m.getQueueId() + "@" + m.getQueueOffset());
                }
                return got.entrySet().containsAll(expected.entrySet());
            }, () -> "lite pull consumer on the slave of " + brokerName + ": " + missing(expected, got));
            return got;
        } finally {
            consumer.shutdown();
        }
    }

    /** Sends until SEND_OK: right after start a slave may not be connected yet (SLAVE_NOT_AVAILABLE). */
    private static SendResult send(DefaultMQProducer producer, String body) throws Exception {
        SendResult[] last = new SendResult[1];
        Await.until(Duration.ofSeconds(60), () -> {
            try {
                last[0] = producer.send(new Message(TOPIC, "ha", body.getBytes(StandardCharsets.UTF_8)));
                return last[0].getSendStatus() == SendStatus.SEND_OK;
            } catch (Exception e) {
                return false;
            }
        }, () -> "no SEND_OK for " + body + ", last result " + last[0]);
        return last[0];
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

    private static boolean knowsTopic(RawRemoting raw, String broker) {
        try {
            return pull(raw, broker, 0, 0).getCode() != RawRemoting.TOPIC_NOT_EXIST;
        } catch (Exception e) {
            return false;
        }
    }

    private static RemotingCommand pull(RawRemoting raw, String broker, int queueId, long offset) throws Exception {
        Map<String, String> f = new HashMap<>();
        f.put("consumerGroup", "replication_checker");
        f.put("topic", TOPIC);
        f.put("queueId", String.valueOf(queueId));
        f.put("queueOffset", String.valueOf(offset));
        f.put("maxMsgNums", "32");
        f.put("sysFlag", "4");
        f.put("commitOffset", "0");
        f.put("suspendTimeoutMillis", "0");
        f.put("subscription", "*");
        f.put("subVersion", "0");
        f.put("expressionType", "TAG");
        return raw.invoke(broker, PULL_MESSAGE, f, null);
    }

    /** Body -> "queueId@queueOffset" of every message of the topic on one broker. */
    private static Map<String, String> readAll(RawRemoting raw, String broker) throws Exception {
        Map<String, String> out = new HashMap<>();
        for (int q = 0; q < QUEUES; q++) {
            long offset = 0;
            while (true) {
                RemotingCommand r = pull(raw, broker, q, offset);
                if (r.getCode() != RawRemoting.SUCCESS) {
                    break;
                }
                List<MessageExt> msgs = MessageDecoder.decodes(ByteBuffer.wrap(r.getBody()));
                for (MessageExt m : msgs) {
                    out.put(new String(m.getBody(), StandardCharsets.UTF_8), q + "@" + m.getQueueOffset());
                }
                offset = Long.parseLong(r.getExtFields().get("nextBeginOffset"));
            }
        }
        return out;
    }

    private static String missing(Map<String, String> expected, Map<String, String> found) {
        List<String> lost = new ArrayList<>();
        expected.forEach((k, v) -> {
            if (!v.equals(found.get(k))) {
                lost.add(k + "=" + v + " (found " + found.get(k) + ")");
            }
        });
        return lost.size() + " acknowledged messages missing or moved, e.g. "
                + lost.subList(0, Math.min(5, lost.size()));
    }
}
