package org.ferrocket.interop.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import java.io.IOException;
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
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.store.config.BrokerRole;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A master and its slave, one of them the Apache RocketMQ broker (the version under test, in-process from its
 * Maven Central jars) and the other ferrocket, registered with the ferrocket name server. The master takes
 * messages and a consumer group's committed offsets; the slave copies the commit log over the classic HA
 * protocol and the metadata over SlaveSynchronize. Then the master stops and the official client reads the
 * same messages, and the group's offsets, from the slave, and commits an offset there.
 */
class ReplicationInteropTest {
    private static final String VERSION = System.getProperty("apache.version", "unknown");
    private static final String CLUSTER = "ReplicationCluster";
    private static final String BROKER_NAME = "broker-r";
    private static final String TOPIC = "ReplicationTopic";
    private static final String GROUP = "replication-group";
    private static final int QUEUES = 2;
    private static final int MESSAGES = 24;
    /** Small commit log files, equal on both sides (the slave writes at the master's offsets). */
    private static final int COMMIT_LOG_SIZE = 4 * 1024 * 1024;

    private static final int UPDATE_AND_CREATE_TOPIC = 17;
    private static final int GET_ALL_TOPIC_CONFIG = 21;
    private static final int GET_BROKER_RUNTIME_INFO = 28;
    private static final int GET_ALL_CONSUMER_OFFSET = 43;
    private static final int GET_ROUTEINFO_BY_TOPIC = 105;

    /** A running master or slave. */
    interface Member {
        String addr();

        void stop() throws Exception;

        String describe();
    }

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private Path root;
    private String namesrv;
    private NettyRemotingClient remoting;

    @BeforeEach
    void setUp() throws Exception {
        root = Files.createTempDirectory("replication-" + VERSION + "-");
        int nsPort = freePort();
        namesrv = "127.0.0.1:" + nsPort;
        FerrocketProcess ns = FerrocketProcess.start(List.of("namesrv", "--listen", namesrv),
                logFile("namesrv"), "is ready");
        cleanup.add(ns::stop);
        remoting = new NettyRemotingClient(new NettyClientConfig());
        remoting.start();
        cleanup.add(remoting::shutdown);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
        }
        deleteRecursively(root);
    }

    /** The harness itself: an Apache pair replicates and serves from its slave. */
    @Test
    void apacheMasterReplicatesToApacheSlave() throws Exception {
        replicateThenReadFromSlave(port -> startApache(port, 0), port -> startApache(port, 1));
    }

    @Test
    void apacheMasterReplicatesToFerrocketSlave() throws Exception {
        replicateThenReadFromSlave(port -> startApache(port, 0), port -> startFerrocket(port, 1));
    }

    @Test
    void ferrocketMasterReplicatesToApacheSlave() throws Exception {
        replicateThenReadFromSlave(port -> startFerrocket(port, 0), port -> startApache(port, 1));
    }

    interface Starter {
        Member start(int port) throws Exception;
    }

    private void replicateThenReadFromSlave(Starter masterStarter, Starter slaveStarter) throws Exception {
        Member master = masterStarter.start(freePortBlock());

        // messages and a group's committed offsets on the master, before the slave exists: the slave catches up
        DefaultMQProducer producer = new DefaultMQProducer("replication-producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("writer-" + System.nanoTime());
        producer.start();
        cleanup.add(producer::shutdown);
        createTopic(master);
        Map<String, String> sent = new HashMap<>();
        for (int i = 0; i < MESSAGES; i++) {
            Message m = new Message(TOPIC, "Tag" + (i % 3), ("replicated-" + VERSION + "-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = retry(() -> producer.send(m), "send" + master.describe());
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
            sent.put(r.getMsgId(), new String(m.getBody(), StandardCharsets.UTF_8));
        }
        Map<MessageQueue, Long> committed = new TreeMap<>();
        DefaultMQPullConsumer onMaster = pullConsumer("master-reader");
        for (MessageQueue mq : onMaster.fetchSubscribeMessageQueues(TOPIC)) {
            PullResult r = onMaster.pull(mq, "*", 0, 2);
            assertEquals(PullStatus.FOUND, r.getPullStatus(), "the master serves " + mq + master.describe());
            onMaster.getDefaultMQPullConsumerImpl().getOffsetStore().updateConsumeOffsetToBroker(mq, r.getNextBeginOffset(), false);
            committed.put(mq, r.getNextBeginOffset());
        }
        onMaster.shutdown();

        Member slave = slaveStarter.start(freePortBlock());
        waitFor(() -> routeIds().equals(Set.of("0", "1")), 30_000,
                "the name server lists master and slave for " + TOPIC + ": " + routeIds());
        // an Apache broker's runtime info can fail for a moment after start (its stats are still empty)
        long masterMax = retry(() -> maxPhyOffset(master.addr()), "the master's runtime info");
        assertTrue(masterMax > 0, "the master wrote its commit log");
        waitFor(() -> maxPhyOffset(slave.addr()) == masterMax, 60_000,
                "the slave copies the master's commit log up to " + masterMax + slave.describe());
        waitFor(() -> adminJson(slave.addr(), GET_ALL_TOPIC_CONFIG).getJSONObject("topicConfigTable").containsKey(TOPIC),
                60_000, "the slave takes " + TOPIC + " from the master" + slave.describe());
        waitFor(() -> adminJson(slave.addr(), GET_ALL_CONSUMER_OFFSET).getJSONObject("offsetTable")
                        .containsKey(TOPIC + "@" + GROUP), 90_000,
                "the slave takes the group's offsets from the master" + slave.describe());

        master.stop();
        waitFor(() -> routeIds().equals(Set.of("1")), 30_000, "only the slave is left in the route: " + routeIds());

        // a fresh client reads everything from the slave
        DefaultMQPullConsumer onSlave = pullConsumer("slave-reader");
        Map<String, String> read = new HashMap<>();
        Set<MessageQueue> queues = onSlave.fetchSubscribeMessageQueues(TOPIC);
        assertEquals(QUEUES, queues.size(), "queues of " + TOPIC + " while the master is down");
        for (MessageQueue mq : queues) {
            long offset = 0;
            while (true) {
                long from = offset;
                PullResult r = retry(() -> onSlave.pull(mq, "*", from, 8), "pull from the slave" + slave.describe());
                if (r.getPullStatus() != PullStatus.FOUND) {
                    assertEquals(PullStatus.NO_NEW_MSG, r.getPullStatus(), mq + " at " + offset + slave.describe());
                    break;
                }
                for (MessageExt m : r.getMsgFoundList()) {
                    assertEquals(offset, m.getQueueOffset(), "offsets of " + mq + " are contiguous");
                    offset++;
                    read.put(m.getMsgId(), new String(m.getBody(), StandardCharsets.UTF_8));
                }
            }
        }
        assertEquals(new TreeMap<>(sent), new TreeMap<>(read), "the slave serves what the master acknowledged");
        for (Map.Entry<MessageQueue, Long> e : committed.entrySet()) {
            assertEquals(e.getValue().longValue(), onSlave.fetchConsumeOffset(e.getKey(), true),
                    "the slave serves the group's committed offset of " + e.getKey() + slave.describe());
        }
        // while the master is away, offsets are committed to the slave
        MessageQueue first = committed.keySet().iterator().next();
        long moved = committed.get(first) + 1;
        onSlave.getDefaultMQPullConsumerImpl().getOffsetStore().updateConsumeOffsetToBroker(first, moved, false);
        waitFor(() -> onSlave.fetchConsumeOffset(first, true) == moved, 10_000,
                "the slave takes an offset commit" + slave.describe());
        onSlave.shutdown();
        System.out.printf("Apache RocketMQ %s replication: %d messages read from the slave%n", VERSION, read.size());
        slave.stop();
    }

    // ---------------------------------------------------------------- members

    private Member startApache(int port, long brokerId) throws Exception {
        Path store = root.resolve("apache-" + brokerId);
        BrokerConfig brokerConfig = new BrokerConfig();
        brokerConfig.setBrokerName(BROKER_NAME);
        brokerConfig.setBrokerClusterName(CLUSTER);
        brokerConfig.setBrokerId(brokerId);
        brokerConfig.setNamesrvAddr(namesrv);
        brokerConfig.setBrokerIP1("127.0.0.1");
        brokerConfig.setBrokerIP2("127.0.0.1");
        brokerConfig.setRocketmqHome(store.toString());
        // a 5.x slave rejects every pull without it; a 4.9 slave serves pulls either way
        brokerConfig.setSlaveReadEnable(true);
        NettyServerConfig serverConfig = new NettyServerConfig();
        serverConfig.setListenPort(port);
        MessageStoreConfig storeConfig = new MessageStoreConfig();
        storeConfig.setStorePathRootDir(store.toString());
        storeConfig.setStorePathCommitLog(store.resolve("commitlog").toString());
        storeConfig.setMappedFileSizeCommitLog(COMMIT_LOG_SIZE);
        storeConfig.setHaListenPort(port + 1);
        storeConfig.setBrokerRole(brokerId == 0 ? BrokerRole.ASYNC_MASTER : BrokerRole.SLAVE);
        BrokerController broker = new BrokerController(brokerConfig, serverConfig, new NettyClientConfig(), storeConfig);
        assertTrue(broker.initialize(), "the Apache broker initializes");
        broker.start();
        String addr = "127.0.0.1:" + port;
        boolean[] stopped = {false};
        Member m = new Member() {
            public String addr() {
                return addr;
            }

            public void stop() {
                if (!stopped[0]) {
                    stopped[0] = true;
                    broker.shutdown();
                }
            }

            public String describe() {
                return "\n(Apache RocketMQ " + VERSION + " broker " + brokerId + " at " + addr + ")";
            }
        };
        cleanup.add(m::stop);
        return m;
    }

    private Member startFerrocket(int port, long brokerId) throws Exception {
        Path dir = root.resolve("ferrocket-" + brokerId);
        Files.createDirectories(dir);
        Path conf = dir.resolve("broker.conf");
        Files.write(conf, ("brokerClusterName=" + CLUSTER + "\nbrokerName=" + BROKER_NAME + "\nbrokerId=" + brokerId
                + "\nbrokerRole=" + (brokerId == 0 ? "ASYNC_MASTER" : "SLAVE") + "\nlistenPort=" + port
                + "\nbrokerIP1=127.0.0.1\nnamesrvAddr=" + namesrv + "\nmappedFileSizeCommitLog=" + COMMIT_LOG_SIZE
                + "\nconsoleEnable=false\n").getBytes(StandardCharsets.UTF_8));
        FerrocketProcess p = FerrocketProcess.start(
                List.of("broker", "-c", conf.toString(), "--store", dir.resolve("store").toString()),
                logFile("ferrocket-broker-" + brokerId), "is ready");
        String addr = "127.0.0.1:" + port;
        Member m = new Member() {
            public String addr() {
                return addr;
            }

            public void stop() throws Exception {
                assertEquals(0, p.stop(), "ferrocket exits cleanly" + p.describe());
            }

            public String describe() {
                return p.describe();
            }
        };
        cleanup.add(p::stop);
        return m;
    }

    // ---------------------------------------------------------------- queries

    private DefaultMQPullConsumer pullConsumer(String name) throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer(GROUP);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name + "-" + System.nanoTime());
        c.start();
        cleanup.add(c::shutdown);
        return c;
    }

    /** UPDATE_AND_CREATE_TOPIC as mqadmin sends it (the producer's createTopic differs between 4.9 and 5.x). */
    private void createTopic(Member master) throws Exception {
        RemotingCommand req = RemotingCommand.createRequestCommand(UPDATE_AND_CREATE_TOPIC, null);
        req.addExtField("topic", TOPIC);
        req.addExtField("defaultTopic", "TBW102");
        req.addExtField("readQueueNums", String.valueOf(QUEUES));
        req.addExtField("writeQueueNums", String.valueOf(QUEUES));
        req.addExtField("perm", "6");
        req.addExtField("topicFilterType", "SINGLE_TAG");
        req.addExtField("topicSysFlag", "0");
        req.addExtField("order", "false");
        RemotingCommand r = remoting.invokeSync(master.addr(), req, 5_000);
        assertEquals(0, r.getCode(), "creating " + TOPIC + ": " + r.getRemark() + master.describe());
        waitFor(() -> routeIds().contains("0"), 30_000, "the master registers " + TOPIC + master.describe());
    }

    /** The broker ids the name server routes TOPIC to. */
    private Set<String> routeIds() throws Exception {
        RemotingCommand req = RemotingCommand.createRequestCommand(GET_ROUTEINFO_BY_TOPIC, null);
        req.addExtField("topic", TOPIC);
        RemotingCommand r = remoting.invokeSync(namesrv, req, 5_000);
        if (r.getCode() != 0) {
            return Set.of();
        }
        JSONObject route = JSON.parseObject(new String(r.getBody(), StandardCharsets.UTF_8));
        Set<String> ids = new TreeSet<>();
        for (Object bd : route.getJSONArray("brokerDatas")) {
            ids.addAll(((JSONObject) bd).getJSONObject("brokerAddrs").keySet());
        }
        return ids;
    }

    private long maxPhyOffset(String addr) throws Exception {
        JSONObject table = adminJson(addr, GET_BROKER_RUNTIME_INFO).getJSONObject("table");
        return Long.parseLong(table.getString("commitLogMaxOffset"));
    }

    private JSONObject adminJson(String addr, int code) throws Exception {
        RemotingCommand r = remoting.invokeSync(addr, RemotingCommand.createRequestCommand(code, null), 5_000);
        if (r.getCode() != 0) {
            // e.g. an empty Apache slave cannot report its runtime info yet: the caller polls again
            throw new IllegalStateException("request " + code + " to " + addr + ": code " + r.getCode() + " " + r.getRemark());
        }
        return JSON.parseObject(new String(r.getBody(), StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- helpers

    interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check check, long timeoutMs, String what) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + timeoutMs + " ms: " + what, last);
    }

    private static <T> T retry(Callable<T> call, String what) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            try {
                return call.call();
            } catch (Exception e) {
                // routes take a moment to reach the name server and the client
                if (System.currentTimeMillis() > deadline) {
                    throw new AssertionError(what, e);
                }
                Thread.sleep(300);
            }
        }
    }

    private static Path logFile(String name) {
        Path dir = Paths.get(System.getProperty("interop.logdir", "target/logs")).toAbsolutePath();
        return dir.resolve(name + ".log");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A port whose neighbours (the broker's fast port −2 and HA port +1) are free as well. */
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
        if (dir == null || !Files.exists(dir)) {
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
}
