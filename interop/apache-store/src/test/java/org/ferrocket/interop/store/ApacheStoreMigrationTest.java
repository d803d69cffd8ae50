package org.ferrocket.interop.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.junit.jupiter.api.Test;

/**
 * The Apache RocketMQ broker (the version under test, started in-process from its Maven Central jars) writes a
 * store: two topics, messages with tags, keys, user properties and a compressed body, a consumer group that
 * consumed part of one topic and committed its offsets. The broker shuts down cleanly; then `ferrocket
 * standalone` opens the same storePathRootDir and the official client reads everything back from it.
 */
class ApacheStoreMigrationTest {
    private static final String VERSION = System.getProperty("apache.version", "unknown");
    private static final String CLUSTER = "DefaultCluster";
    private static final String BROKER_NAME = "broker-migrated";
    private static final String GROUP = "migration-group";
    private static final String[] TOPICS = {"MigrationTopicA", "MigrationTopicB"};
    private static final int QUEUES = 4;
    private static final int MESSAGES_PER_TOPIC = 40;

    /** What the Apache broker acknowledged for one message. */
    private static final class Sent {
        final Message message;
        final MessageQueue queue;
        final long queueOffset;

        Sent(Message message, MessageQueue queue, long queueOffset) {
            this.message = message;
            this.queueOffset = queueOffset;
            this.queue = queue;
        }
    }

    @Test
    void ferrocketServesAStoreWrittenByTheApacheBroker() throws Exception {
        Path root = Files.createTempDirectory("apache-store-" + VERSION + "-");
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/logs")).toAbsolutePath();
        Files.createDirectories(logDir);
        try {
            Map<String, Sent> sent = new HashMap<>();
            Map<MessageQueue, Long> committed = new TreeMap<>();
            writeWithApache(root, sent, committed);
            assertFalse(Files.exists(root.resolve("abort")), "the Apache broker shut down cleanly");
            for (String f : new String[] {"topics.json", "subscriptionGroup.json", "consumerOffset.json"}) {
                assertTrue(Files.exists(root.resolve("config").resolve(f)), "Apache wrote config/" + f);
            }
            serveWithFerrocket(root, logDir, sent, committed);
        } finally {
            deleteRecursively(root);
        }
    }

    // ---------------------------------------------------------------- phase 1: the Apache broker writes

    private void writeWithApache(Path root, Map<String, Sent> sent, Map<MessageQueue, Long> committed)
            throws Exception {
        int nsPort = freePort();
        int brokerPort = freePortBlock();
        String namesrv = "127.0.0.1:" + nsPort;
        AutoCloseable nameServer = startNameServer(root, nsPort);
        BrokerController broker = null;
        DefaultMQProducer producer = null;
        DefaultMQPullConsumer consumer = null;
        try {
            BrokerConfig brokerConfig = new BrokerConfig();
            brokerConfig.setBrokerName(BROKER_NAME);
            brokerConfig.setBrokerClusterName(CLUSTER);
            brokerConfig.setNamesrvAddr(namesrv);
            brokerConfig.setBrokerIP1("127.0.0.1");
            brokerConfig.setRocketmqHome(root.toString());
            NettyServerConfig serverConfig = new NettyServerConfig();
            serverConfig.setListenPort(brokerPort);
            MessageStoreConfig storeConfig = new MessageStoreConfig();
            storeConfig.setStorePathRootDir(root.toString());
            storeConfig.setStorePathCommitLog(root.resolve("commitlog").toString());
            broker = new BrokerController(brokerConfig, serverConfig, new NettyClientConfig(), storeConfig);
            assertTrue(broker.initialize(), "the Apache broker initializes");
            broker.start();
            for (String topic : TOPICS) {
                broker.getTopicConfigManager().updateTopicConfig(new TopicConfig(topic, QUEUES, QUEUES, 6));
            }
            broker.registerBrokerAll(true, false, true);

            producer = new DefaultMQProducer("migration-producer");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName("apache-writer");
            producer.start();
            for (String topic : TOPICS) {
                for (int i = 0; i < MESSAGES_PER_TOPIC; i++) {
                    Message m = new Message(topic, i % 2 == 0 ? "TagA" : "TagB", "key-" + topic + "-" + i,
                            body(topic, i));
                    m.putUserProperty("origin", "apache-" + VERSION);
                    m.putUserProperty("index", String.valueOf(i));
                    SendResult r = sendWithRetry(producer, m);
                    assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
                    sent.put(r.getMsgId(), new Sent(m, r.getMessageQueue(), r.getQueueOffset()));
                }
            }

            // the group consumes part of the first topic and commits where it stopped
            consumer = new DefaultMQPullConsumer(GROUP);
            consumer.setNamesrvAddr(namesrv);
            consumer.setInstanceName("apache-consumer");
            consumer.start();
            for (MessageQueue mq : consumer.fetchSubscribeMessageQueues(TOPICS[0])) {
                PullResult r = consumer.pull(mq, "*", 0, 3);
                assertEquals(PullStatus.FOUND, r.getPullStatus(), "Apache serves " + mq);
                long offset = r.getNextBeginOffset();
                consumer.getDefaultMQPullConsumerImpl().getOffsetStore().updateConsumeOffsetToBroker(mq, offset, false);
                committed.put(mq, offset);
            }
            for (Map.Entry<MessageQueue, Long> e : committed.entrySet()) {
                MessageQueue mq = e.getKey();
                assertEquals(e.getValue().longValue(),
                        broker.getConsumerOffsetManager().queryOffset(GROUP, mq.getTopic(), mq.getQueueId()),
                        "the Apache broker holds the committed offset of " + mq);
            }
            assertTrue(broker.getSubscriptionGroupManager().getSubscriptionGroupTable().containsKey(GROUP),
                    "the Apache broker created the subscription group");
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            if (producer != null) {
                producer.shutdown();
            }
            if (broker != null) {
                broker.shutdown();
            }
            nameServer.close();
        }
        assertEquals(TOPICS.length * MESSAGES_PER_TOPIC, sent.size());
    }

    private static byte[] body(String topic, int i) {
        StringBuilder b = new StringBuilder("apache-" + VERSION + "-" + topic + "-" + i + ":");
        // one large body per topic, which the client stores compressed
        int len = i == 7 ? 12_000 : 64 + i * 13;
        while (b.length() < len) {
            b.append((char) ('a' + (b.length() * 7 + i) % 26));
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static SendResult sendWithRetry(DefaultMQProducer producer, Message m) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            try {
                return producer.send(m);
            } catch (Exception e) {
                // the route may take a moment to reach the name server after registration
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    /**
     * The name server the Apache broker registers with: the Apache one (rocketmq-namesrv of the same version,
     * in-process) or, when that jar is not available for the version, the ferrocket binary's.
     */
    private AutoCloseable startNameServer(Path root, int port) throws Exception {
        String kind = System.getProperty("apache.namesrv", "apache");
        if (kind.equals("ferrocket")) {
            FerrocketProcess p = FerrocketProcess.start(
                    List.of("namesrv", "--listen", "127.0.0.1:" + port),
                    logFile("namesrv-" + VERSION), "is ready");
            return p::stop;
        }
        if (!kind.equals("apache")) {
            fail("apache.namesrv must be apache or ferrocket, not " + kind);
        }
        Class<?> controllerClass;
        try {
            controllerClass = Class.forName("org.apache.rocketmq.namesrv.NamesrvController");
        } catch (ClassNotFoundException e) {
            throw new AssertionError("rocketmq-namesrv " + VERSION + " is not on the classpath"
                    + " (run with -Dapache.namesrv=apache to add it, or -Dapache.namesrv=ferrocket)", e);
        }
        Class<?> configClass = Class.forName("org.apache.rocketmq.common.namesrv.NamesrvConfig");
        Object config = configClass.getConstructor().newInstance();
        configClass.getMethod("setRocketmqHome", String.class).invoke(config, root.toString());
        configClass.getMethod("setKvConfigPath", String.class)
                .invoke(config, root.resolveSibling(root.getFileName() + "-kvConfig.json").toString());
        configClass.getMethod("setConfigStorePath", String.class)
                .invoke(config, root.resolveSibling(root.getFileName() + "-namesrv.properties").toString());
        NettyServerConfig server = new NettyServerConfig();
        server.setListenPort(port);
        Constructor<?> ctor = controllerClass.getConstructor(configClass, NettyServerConfig.class);
        Object controller = ctor.newInstance(config, server);
        assertTrue((Boolean) controllerClass.getMethod("initialize").invoke(controller), "name server initializes");
        controllerClass.getMethod("start").invoke(controller);
        Method shutdown = controllerClass.getMethod("shutdown");
        return () -> shutdown.invoke(controller);
    }

    // ---------------------------------------------------------------- phase 2: ferrocket serves it

    private void serveWithFerrocket(Path root, Path logDir, Map<String, Sent> sent, Map<MessageQueue, Long> committed)
            throws Exception {
        int nsPort = freePort();
        int brokerPort = freePortBlock();
        String namesrv = "127.0.0.1:" + nsPort;
        String brokerAddr = "127.0.0.1:" + brokerPort;
        Path conf = root.resolveSibling(root.getFileName() + "-ferrocket.conf");
        Files.write(conf, ("brokerClusterName=" + CLUSTER + "\nbrokerName=" + BROKER_NAME + "\nlistenPort=" + brokerPort
                + "\nbrokerIP1=127.0.0.1\nautoCreateTopicEnable=false\nautoCreateSubscriptionGroup=false\n")
                .getBytes(StandardCharsets.UTF_8));
        FerrocketProcess ferrocket = FerrocketProcess.start(
                List.of("standalone", "--store", root.toString(), "--namesrv-listen", namesrv, "-c", conf.toString()),
                logFile("ferrocket-" + VERSION), "is ready");
        DefaultMQPullConsumer consumer = null;
        DefaultMQProducer producer = null;
        NettyRemotingClient remoting = null;
        try {
            // topics and groups as the admin tools see them
            remoting = new NettyRemotingClient(new NettyClientConfig());
            remoting.start();
            JSONObject topics = adminQuery(remoting, brokerAddr, 21, ferrocket).getJSONObject("topicConfigTable");
            for (String topic : TOPICS) {
                JSONObject t = topics.getJSONObject(topic);
                assertNotNull(t, topic + " is served from Apache's topics.json" + ferrocket.describe());
                assertEquals(QUEUES, t.getIntValue("readQueueNums"));
                assertEquals(QUEUES, t.getIntValue("writeQueueNums"));
            }
            JSONObject groups = adminQuery(remoting, brokerAddr, 201, ferrocket).getJSONObject("subscriptionGroupTable");
            assertTrue(groups.containsKey(GROUP), GROUP + " is served from Apache's subscriptionGroup.json"
                    + ferrocket.describe());

            // every message, from offset 0 of every queue; pulling with the migrated group proves it exists
            // (ferrocket runs with autoCreateSubscriptionGroup=false)
            consumer = new DefaultMQPullConsumer(GROUP);
            consumer.setNamesrvAddr(namesrv);
            consumer.setInstanceName("ferrocket-reader");
            consumer.start();
            Map<String, MessageExt> read = new HashMap<>();
            Map<MessageQueue, Long> maxOffsets = new HashMap<>();
            for (String topic : TOPICS) {
                Set<MessageQueue> queues = consumer.fetchSubscribeMessageQueues(topic);
                assertEquals(QUEUES, queues.size(), "queues of " + topic);
                for (MessageQueue mq : queues) {
                    long max = consumer.maxOffset(mq);
                    maxOffsets.put(mq, max);
                    long offset = 0;
                    while (offset < max) {
                        PullResult r = consumer.pull(mq, "*", offset, 16);
                        assertEquals(PullStatus.FOUND, r.getPullStatus(), mq + " at " + offset + ferrocket.describe());
                        for (MessageExt m : r.getMsgFoundList()) {
                            assertEquals(offset, m.getQueueOffset(), "offsets of " + mq + " are contiguous");
                            offset++;
                            assertTrue(read.put(m.getMsgId(), m) == null, "message read twice: " + m.getMsgId());
                        }
                        assertEquals(offset, r.getNextBeginOffset());
                    }
                }
            }
            Set<String> missing = new java.util.TreeSet<>(sent.keySet());
            missing.removeAll(read.keySet());
            Set<String> unexpected = new java.util.TreeSet<>(read.keySet());
            unexpected.removeAll(sent.keySet());
            assertTrue(missing.isEmpty() && unexpected.isEmpty(), "ferrocket serves exactly the " + sent.size()
                    + " messages Apache stored; missing " + missing.size() + ", unexpected " + unexpected
                    + ferrocket.describe());
            for (Map.Entry<String, Sent> e : sent.entrySet()) {
                Sent s = e.getValue();
                MessageExt m = read.get(e.getKey());
                assertEquals(s.message.getTopic(), m.getTopic());
                assertEquals(s.queue.getQueueId(), m.getQueueId(), "queue of " + e.getKey());
                assertEquals(s.queueOffset, m.getQueueOffset(), "queue offset of " + e.getKey());
                assertEquals(s.message.getTags(), m.getTags());
                assertEquals(s.message.getKeys(), m.getKeys());
                assertEquals(s.message.getUserProperty("origin"), m.getUserProperty("origin"));
                assertEquals(s.message.getUserProperty("index"), m.getUserProperty("index"));
                assertEquals(new String(s.message.getBody(), StandardCharsets.UTF_8),
                        new String(m.getBody(), StandardCharsets.UTF_8), "body of " + e.getKey());
            }

            // the group's committed offsets
            for (Map.Entry<MessageQueue, Long> e : committed.entrySet()) {
                MessageQueue mq = new MessageQueue(e.getKey().getTopic(), BROKER_NAME, e.getKey().getQueueId());
                assertEquals(e.getValue().longValue(), consumer.fetchConsumeOffset(mq, true),
                        "committed offset of " + mq + ferrocket.describe());
            }

            // and the store goes on: a new message lands after the migrated ones
            producer = new DefaultMQProducer("migration-producer-after");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName("ferrocket-writer");
            producer.start();
            Message after = new Message(TOPICS[0], "TagC", "after", "written by ferrocket".getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(after);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            MessageQueue mq = r.getMessageQueue();
            long expected = maxOffsets.get(new MessageQueue(mq.getTopic(), BROKER_NAME, mq.getQueueId()));
            assertEquals(expected, r.getQueueOffset(), "the queue continues after the migrated messages");
            PullResult back = consumer.pull(mq, "*", r.getQueueOffset(), 1);
            assertEquals(PullStatus.FOUND, back.getPullStatus());
            assertEquals("written by ferrocket", new String(back.getMsgFoundList().get(0).getBody(), StandardCharsets.UTF_8));

            System.out.printf("Apache RocketMQ %s store served by ferrocket: %d messages, %d committed offsets,"
                    + " topics %s, group %s%n", VERSION, read.size(), committed.size(), String.join(",", TOPICS), GROUP);
        } finally {
            if (remoting != null) {
                remoting.shutdown();
            }
            if (producer != null) {
                producer.shutdown();
            }
            if (consumer != null) {
                consumer.shutdown();
            }
            int exit = ferrocket.stop();
            assertEquals(0, exit, "ferrocket exits cleanly" + ferrocket.describe());
            Files.deleteIfExists(conf);
        }
    }

    private static JSONObject adminQuery(NettyRemotingClient client, String addr, int code, FerrocketProcess p)
            throws Exception {
        RemotingCommand response = client.invokeSync(addr, RemotingCommand.createRequestCommand(code, null), 10_000);
        assertEquals(0, response.getCode(), "request " + code + ": " + response.getRemark() + p.describe());
        return JSON.parseObject(new String(response.getBody(), StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- helpers

    private static Path logFile(String name) throws IOException {
        Path dir = Paths.get(System.getProperty("interop.logdir", "target/logs")).toAbsolutePath();
        Files.createDirectories(dir);
        return dir.resolve(name + ".log");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A port whose neighbours (the broker's VIP and HA ports) are free as well. */
    private static int freePortBlock() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int p = freePort();
            if (p < 1026 || p > 65533) {
                continue;
            }
            boolean free = true;
            for (int q : new int[] {p - 2, p - 1, p + 1}) {
                try (ServerSocket s = new ServerSocket(q)) {
                    s.setReuseAddress(true);
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return p;
            }
        }
        throw new IOException("no free block of ports");
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            List<Path> all = new ArrayList<>();
            paths.sorted(Comparator.reverseOrder()).forEach(all::add);
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A ferrocket child process whose output goes to a log file. */
    static final class FerrocketProcess {
        private final Process process;
        private final Path log;

        private FerrocketProcess(Process process, Path log) {
            this.process = process;
            this.log = log;
        }

        static FerrocketProcess start(List<String> args, Path log, String readyMarker) throws Exception {
            String bin = System.getProperty("FERROCKET_BIN", "");
            if (bin.isEmpty()) {
                bin = System.getenv().getOrDefault("FERROCKET_BIN", "");
            }
            Path binary = bin.isEmpty()
                    ? Paths.get(System.getProperty("interop.basedir", ".")).resolve("../../target/debug/ferrocket")
                    : Paths.get(bin);
            if (!Files.isExecutable(binary)) {
                throw new IllegalStateException("ferrocket binary not found at " + binary
                        + " (build it with `cargo build -p ferrocket` or set FERROCKET_BIN)");
            }
            List<String> cmd = new ArrayList<>();
            cmd.add(binary.toAbsolutePath().normalize().toString());
            cmd.addAll(args);
            Files.deleteIfExists(log);
            ProcessBuilder b = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            b.environment().put("RUST_LOG", "info");
            FerrocketProcess p = new FerrocketProcess(b.start(), log);
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                if (Files.exists(log) && Files.readString(log).contains(readyMarker)) {
                    return p;
                }
                if (!p.process.isAlive()) {
                    throw new AssertionError("ferrocket exited with " + p.process.exitValue() + p.describe());
                }
                Thread.sleep(100);
            }
            p.process.destroyForcibly();
            throw new AssertionError("ferrocket not ready within 60 s" + p.describe());
        }

        int stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("ferrocket did not exit within 60 s after SIGTERM" + describe());
            }
            return process.exitValue();
        }

        String describe() {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                return "\n--- " + log + " (last 60 lines) ---\n"
                        + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
            } catch (IOException e) {
                return "\n(cannot read " + log + ": " + e + ")";
            }
        }
    }
}
