package org.ferrocket.mqadmin;

import static org.ferrocket.mqadmin.Standalone.BROKER;
import static org.ferrocket.mqadmin.Standalone.CLUSTER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/** The official mqadmin against Ferrocket: what each command prints and what it changes. */
class MqAdminTest {
    /** True when the tools on the class path are the 4.9.x line. */
    private static final boolean V4 = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).startsWith("V4_");

    private static List<String> lines(String out) {
        return Arrays.stream(out.split("\\R")).map(String::trim).collect(Collectors.toList());
    }

    /** The value after `label` in mqadmin's message detail (`%-20s %s`). */
    private static String field(String out, String label) {
        return lines(out).stream().filter(l -> l.startsWith(label)).findFirst()
                .map(l -> l.substring(label.length()).trim())
                .orElseThrow(() -> new AssertionError("no " + label + " in\n" + out));
    }

    private static void await(String what, int seconds, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    private static DefaultMQProducer producer(String group, String namesrv) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(group + "-" + System.nanoTime());
        p.setRetryTimesWhenSendFailed(0);
        p.setSendMsgTimeout(5000);
        p.start();
        return p;
    }

    @Test
    void topicsMessagesGroupsAndWritePermission() throws Exception {
        try (Standalone fr = Standalone.start("topics")) {
            MqAdmin admin = new MqAdmin(fr.namesrv);
            String topic = "MqAdminTopic";

            String out = admin.ok("clusterList");
            assertTrue(out.contains("#Cluster Name") && out.contains("#Broker Name") && out.contains("#Addr"), out);
            assertTrue(out.contains(CLUSTER) && out.contains(BROKER) && out.contains(fr.brokerAddr), out);

            out = admin.ok("updateTopic", "-c", CLUSTER, "-t", topic, "-r", "4", "-w", "4");
            assertTrue(out.contains("create topic to " + fr.brokerAddr + " success."), out);
            assertTrue(lines(admin.ok("topicList")).contains(topic));
            out = admin.ok("topicRoute", "-t", topic);
            assertTrue(out.contains("\"writeQueueNums\":4") && out.contains(fr.brokerAddr), out);

            out = admin.ok("sendMessage", "-t", topic, "-p", "hello mqadmin", "-k", "key-1", "-c", "TagA");
            String sent = lines(out).stream().filter(l -> l.contains("SEND_OK")).findFirst()
                    .orElseThrow(() -> new AssertionError("no SEND_OK in\n" + admin));
            String[] cols = sent.split("\\s+");
            String msgId = cols[cols.length - 1];
            String queueId = cols[1];

            out = admin.ok("topicStatus", "-t", topic);
            assertTrue(out.contains("#Broker Name") && out.contains("#Min Offset") && out.contains("#Max Offset"), out);
            long total = lines(out).stream().filter(l -> l.startsWith(BROKER))
                    .mapToLong(l -> Long.parseLong(l.split("\\s+")[3])).sum();
            assertEquals(1, total, out);

            out = admin.ok("queryMsgByUniqueKey", "-i", msgId, "-t", topic);
            assertEquals(topic, field(out, "Topic:"), out);
            assertEquals("[key-1]", field(out, "Keys:"), out);
            assertEquals("[TagA]", field(out, "Tags:"), out);
            assertEquals(queueId, field(out, "Queue ID:"), out);

            out = admin.ok("queryMsgByOffset", "-t", topic, "-b", BROKER, "-i", queueId, "-o", "0");
            assertEquals("[key-1]", field(out, "Keys:"), out);
            String offsetId = field(out, "OffsetID:");

            // 4.9.x has no -t option on queryMsgById and exits on an unknown option
            out = V4 ? admin.ok("queryMsgById", "-i", offsetId) : admin.ok("queryMsgById", "-i", offsetId, "-t", topic);
            assertEquals("[key-1]", field(out, "Keys:"), out);
            assertEquals(queueId, field(out, "Queue ID:"), out);

            out = admin.ok("queryMsgByKey", "-t", topic, "-k", "key-1");
            assertTrue(out.contains("#Message ID") && out.contains(msgId), out);

            out = admin.ok("printMsg", "-t", topic);
            assertTrue(out.contains("BODY: hello mqadmin"), out);
            out = admin.ok("consumeMessage", "-t", topic);
            assertTrue(out.contains("hello mqadmin"), out);

            out = admin.ok("updateSubGroup", "-c", CLUSTER, "-g", "MqAdminGroup", "-r", "3");
            assertTrue(out.contains("create subscription group to " + fr.brokerAddr + " success."), out);
            out = admin.ok("deleteSubGroup", "-c", CLUSTER, "-g", "MqAdminGroup");
            assertTrue(out.contains("delete subscription group [MqAdminGroup] from broker [" + fr.brokerAddr), out);

            out = admin.ok("brokerStatus", "-b", fr.brokerAddr);
            assertTrue(out.contains("brokerVersionDesc") && out.contains("msgPutTotalTodayNow"), out);
            out = admin.ok("getBrokerConfig", "-b", fr.brokerAddr);
            assertTrue(lines(out).stream().anyMatch(l -> l.startsWith("brokerName") && l.endsWith(BROKER)), out);
            // updateBrokerConfig: the new value is live (getBrokerConfig shows it) and saved
            out = admin.ok("updateBrokerConfig", "-b", fr.brokerAddr, "-k", "longPollingEnable", "-v", "false");
            assertTrue(out.contains("update broker config success, " + fr.brokerAddr), out);
            out = admin.ok("getBrokerConfig", "-b", fr.brokerAddr);
            assertTrue(lines(out).stream().anyMatch(l -> l.startsWith("longPollingEnable") && l.endsWith("false")), out);
            out = admin.ok("updateBrokerConfig", "-c", Standalone.CLUSTER, "-k", "longPollingEnable", "-v", "true");
            out = admin.ok("getBrokerConfig", "-b", fr.brokerAddr);
            assertTrue(lines(out).stream().anyMatch(l -> l.startsWith("longPollingEnable") && l.endsWith("true")), out);

            // A broker registration carrying changed topic configs rewrites the routes, as in RocketMQ,
            // and may land between the wipe and the send: then the route shows write permission again
            // and the wipe is repeated.
            boolean refusedOnce = false;
            for (int attempt = 0; attempt < 3 && !refusedOnce; attempt++) {
                out = admin.ok("wipeWritePerm", "-b", BROKER);
                assertTrue(out.contains("wipe write perm of broker[" + BROKER + "] in name server[" + fr.namesrv + "] OK"), out);
                DefaultMQProducer refused = producer("MqAdminWiped" + attempt, fr.namesrv);
                try {
                    refused.send(new Message(topic, "refused".getBytes(StandardCharsets.UTF_8)));
                    String route = admin.ok("topicRoute", "-t", topic);
                    assertTrue(route.contains("\"perm\":6"),
                            "a send succeeded while the route had no write permission\n" + route);
                } catch (Exception expected) {
                    refusedOnce = true;
                } finally {
                    refused.shutdown();
                }
            }
            assertTrue(refusedOnce, "a broker without write permission takes no message");
            out = admin.ok("addWritePerm", "-b", BROKER);
            assertTrue(out.contains("add write perm of broker[" + BROKER + "] in name server[" + fr.namesrv + "] OK"), out);
            DefaultMQProducer accepted = producer("MqAdminRestored", fr.namesrv);
            try {
                SendResult r = accepted.send(new Message(topic, "accepted".getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            } finally {
                accepted.shutdown();
            }

            out = admin.ok("deleteTopic", "-t", topic, "-c", CLUSTER);
            assertTrue(out.contains("delete topic [" + topic + "] from cluster [" + CLUSTER + "] success."), out);
            assertTrue(out.contains("delete topic [" + topic + "] from NameServer success."), out);
            assertFalse(lines(admin.ok("topicList")).contains(topic));
        }
    }

    @Test
    void connectionsProgressAndOffsetResetsMoveALiveConsumer() throws Exception {
        try (Standalone fr = Standalone.start("offsets")) {
            MqAdmin admin = new MqAdmin(fr.namesrv);
            String topic = "MqAdminResetTopic";
            String group = "MqAdminResetGroup";
            admin.ok("updateTopic", "-b", fr.brokerAddr, "-t", topic, "-r", "2", "-w", "2");

            long before = System.currentTimeMillis() - 1000;
            DefaultMQProducer producer = producer("MqAdminProducer", fr.namesrv);
            DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
            AtomicInteger received = new AtomicInteger();
            try {
                for (int i = 0; i < 20; i++) {
                    producer.send(new Message(topic, ("m" + i).getBytes(StandardCharsets.UTF_8)));
                }
                consumer.setNamesrvAddr(fr.namesrv);
                consumer.setInstanceName("reset-" + System.nanoTime());
                consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
                consumer.setPersistConsumerOffsetInterval(1000);
                consumer.subscribe(topic, "*");
                consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    received.addAndGet(msgs.size());
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                consumer.start();
                await("the first 20 messages", 60, () -> received.get() >= 20);

                String out = admin.ok("consumerConnection", "-g", group);
                assertTrue(out.contains("#ClientId") && out.contains("#Version"), out);
                assertTrue(out.contains(topic) && out.contains("MessageModel: CLUSTERING"), out);
                // a 4.9.x producer introduces its group to a broker with its next heartbeat (every 30 s)
                await("the producer's heartbeat", 90,
                        () -> !admin.run("producerConnection", "-g", "MqAdminProducer", "-t", topic).failed());
                out = admin.ok("producerConnection", "-g", "MqAdminProducer", "-t", topic);
                assertTrue(out.startsWith("0001"), out);
                await("committed offsets", 60,
                        () -> admin.run("consumerProgress", "-g", group).out.contains("Diff Total: 0"));
                out = admin.ok("consumerProgress", "-g", group);
                assertTrue(out.contains("#Broker Offset") && out.contains("#Consumer Offset") && out.contains("#Diff"), out);
                out = admin.ok("consumerProgress");
                assertTrue(out.contains("#Group") && out.contains("#Diff Total") && out.contains(group), out);
                out = admin.ok("topicList", "-c");
                assertTrue(out.contains("#Consumer Group"), out);
                assertTrue(lines(out).stream().anyMatch(l -> l.startsWith(CLUSTER) && l.contains(topic) && l.contains(group)), out);

                out = admin.ok("resetOffsetByTime", "-g", group, "-t", topic, "-s", Long.toString(before));
                assertTrue(out.contains("#brokerName") && out.contains("#offset"), out);
                // the client drops what it holds, waits 10 s, then pulls again from the new offsets
                await("the 20 messages again after the reset", 120, () -> received.get() >= 40);
            } finally {
                consumer.shutdown();
            }

            try {
                for (int i = 0; i < 5; i++) {
                    producer.send(new Message(topic, ("late" + i).getBytes(StandardCharsets.UTF_8)));
                }
            } finally {
                producer.shutdown();
            }
            await("the backlog", 30,
                    () -> admin.run("consumerProgress", "-g", group).out.contains("Diff Total: 5"));
            admin.ok("skipAccumulatedMessage", "-g", group, "-t", topic);
            String out = admin.ok("consumerProgress", "-g", group);
            assertTrue(out.contains("Diff Total: 0"), out);
        }
    }
}
