package org.ferrocket.failover;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.failover.support.Await;
import org.ferrocket.failover.support.CutProxy;
import org.ferrocket.failover.support.FreePorts;
import org.ferrocket.failover.support.Proc;

/**
 * Three `ferrocket controller` processes (one Raft quorum), a name server and one broker set of controller-mode
 * brokers, all on loopback: three `ferrocket broker` processes, or Apache RocketMQ 5 brokers each in a JVM of its
 * own ({@link ApacheBrokerMain}). Broker 0 can be made to reach the controllers only through {@link CutProxy}
 * forwarders.
 */
final class BrokerSet implements AutoCloseable {
    static final String CLUSTER = "FailoverCluster";
    static final String BROKER_NAME = "broker-failover";
    static final int CONTROLLERS = 3;
    static final int BROKERS = 3;
    /** controllerHeartBeatTimeoutMills: a broker silent this long is inactive at the controllers. */
    static final long HEARTBEAT_TIMEOUT_MS = 3000;

    private static final int GET_METADATA_INFO = 1005;
    private static final int GET_REPLICA_INFO = 1004;
    private static final int NOT_LEADER = 2007;
    private static final int UPDATE_AND_CREATE_TOPIC = 17;
    private static final int GET_ALL_TOPIC_CONFIG = 21;
    private static final Pattern SET = Pattern.compile("\"syncStateSet\"\\s*:\\s*\\[([0-9,\\s]*)]");

    final Path dir;
    final String namesrv;
    final List<String> controllerAddrs = new ArrayList<>();
    final List<Proc> controllers = new ArrayList<>();
    final List<String> brokerAddrs = new ArrayList<>();
    final List<Proc> brokers = new ArrayList<>();
    final List<CutProxy> proxies = new ArrayList<>();
    private final Proc nameServer;
    private final NettyRemotingClient client;

    /** A set's master and sync state set as the controller leader holds them. */
    static final class Replicas {
        final String masterAddress;
        final int masterEpoch;
        final TreeSet<Long> syncStateSet;

        Replicas(String masterAddress, int masterEpoch, TreeSet<Long> syncStateSet) {
            this.masterAddress = masterAddress;
            this.masterEpoch = masterEpoch;
            this.syncStateSet = syncStateSet;
        }

        @Override
        public String toString() {
            return "master " + masterAddress + " epoch " + masterEpoch + " syncStateSet " + syncStateSet;
        }
    }

    /** Which broker the set runs. */
    enum Brokers {
        FERROCKET,
        APACHE,
        /** Ferrocket brokers at even indexes, Apache brokers at odd ones. */
        MIXED
    }

    /**
     * Writes every configuration and starts the controllers and the name server (not the brokers) of a set of
     * three Ferrocket brokers.
     *
     * @param proxiedBroker0 whether broker 0 reaches the controllers through cuttable forwarders
     */
    BrokerSet(String label, boolean proxiedBroker0) throws Exception {
        this(label, proxiedBroker0, BROKERS, Brokers.FERROCKET);
    }

    /**
     * Writes every configuration and starts the controllers and the name server (not the brokers).
     *
     * @param proxiedBroker0 whether broker 0 reaches the controllers through cuttable forwarders
     * @param brokerCount how many brokers the set has
     * @param kind whose brokers they are
     */
    BrokerSet(String label, boolean proxiedBroker0, int brokerCount, Brokers kind) throws Exception {
        dir = Files.createTempDirectory("ferrocket-failover-" + label + "-");
        client = new NettyRemotingClient(new NettyClientConfig());
        client.start();
        for (int i = 0; i < CONTROLLERS; i++) {
            controllerAddrs.add("127.0.0.1:" + FreePorts.next());
        }
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < CONTROLLERS; i++) {
            peers.append(i == 0 ? "" : ";").append('n').append(i).append('-').append(controllerAddrs.get(i));
        }
        for (int i = 0; i < CONTROLLERS; i++) {
            // scanNotActiveBrokerInterval / scanInactiveMasterInterval short, so a lost master is noticed in
            // well under a second rather than RocketMQ's default five.
            Path conf = write("controller" + i + ".conf", "controllerDLegerGroup=failover\n"
                    + "controllerDLegerPeers=" + peers + "\ncontrollerDLegerSelfId=n" + i + "\n"
                    + "controllerStorePath=" + dir.resolve("controller" + i) + "\n"
                    + "scanNotActiveBrokerInterval=500\nscanInactiveMasterInterval=1000\n");
            controllers.add(new Proc(label + "-controller" + i, List.of("controller", "-c", conf.toString())));
        }
        namesrv = "127.0.0.1:" + FreePorts.next();
        nameServer = new Proc(label + "-namesrv", List.of("namesrv", "--listen", namesrv));
        for (int i = 0; i < brokerCount; i++) {
            String controllerAddr = String.join(";", controllerAddrs);
            if (i == 0 && proxiedBroker0) {
                List<String> viaProxy = new ArrayList<>();
                for (String c : controllerAddrs) {
                    CutProxy p = new CutProxy(c);
                    proxies.add(p);
                    viaProxy.add(p.address());
                }
                controllerAddr = String.join(";", viaProxy);
            }
            int port = FreePorts.next();
            brokerAddrs.add("127.0.0.1:" + port);
            String text = brokerConf(port, controllerAddr, dir.resolve("store" + i));
            if (kind == Brokers.APACHE || (kind == Brokers.MIXED && i % 2 == 1)) {
                // The HA address the Apache broker registers is brokerIP2:haListenPort. An Apache slave learns its
                // master's HA address only from its name server registrations: after a switch it may have to
                // wait for the next one, so they are as frequent as Apache allows (every 10 s).
                Path conf = write("apache-broker" + i + ".conf", text + "brokerIP2=127.0.0.1\n"
                        + "registerNameServerPeriod=10000\n");
                String name = label + "-apache-broker" + i;
                brokers.add(Proc.program(name, apacheCommand(name, conf)));
            } else {
                Path conf = write("broker" + i + ".conf", text);
                brokers.add(new Proc(label + "-broker" + i, List.of("broker", "-c", conf.toString())));
            }
        }
        for (Proc c : controllers) {
            c.start();
        }
        nameServer.start();
    }

    /**
     * The same keys as an Apache RocketMQ 5 broker in controller mode. allAckInSyncStateSet makes the master a
     * synchronous one (brokerRole is not read in controller mode); the short periods make a role change reach
     * the brokers within a second; small CommitLog files keep the stores cheap.
     */
    private String brokerConf(int port, String controllerAddr, Path store) {
        return "brokerClusterName=" + CLUSTER + "\nbrokerName=" + BROKER_NAME + "\n"
                + "brokerIP1=127.0.0.1\nbindAddress=127.0.0.1\n"
                + "listenPort=" + port + "\nhaListenPort=" + (port + 1) + "\n"
                + "namesrvAddr=" + namesrv + "\nstorePathRootDir=" + store + "\n"
                + "enableControllerMode=true\ncontrollerAddr=" + controllerAddr + "\n"
                + "allAckInSyncStateSet=true\n"
                + "syncBrokerMetadataPeriod=1000\ncheckSyncStateSetPeriod=500\nbrokerHeartbeatInterval=500\n"
                + "controllerHeartBeatTimeoutMills=" + HEARTBEAT_TIMEOUT_MS + "\n"
                + "mappedFileSizeCommitLog=" + (4 * 1024 * 1024) + "\n"
                + "grpcServerPort=0\nconsoleEnable=false\n";
    }

    /**
     * The JVM of one Apache broker: this JVM's class path (the rocketmq-broker jars of the pom), a small heap, the
     * opens the 5.x store needs on Java 17, and user.home (where the broker writes its own logs,
     * logs/rocketmqlogs) in the log directory so the logs outlive the test's temporary directory.
     */
    private static List<String> apacheCommand(String name, Path conf) throws IOException {
        Path home = apacheHome(name);
        deleteTree(home);
        Files.createDirectories(home);
        return List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx320m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.util=ALL-UNNAMED",
                "-Duser.home=" + home,
                // no TLS on the remoting port: building its self-signed certificate takes seconds
                "-Dtls.server.mode=disabled",
                "-cp", System.getProperty("java.class.path"),
                ApacheBrokerMain.class.getName(), conf.toString());
    }

    /** The store log (store.log, where the HA service logs) of Apache broker `index`. */
    Path apacheStoreLog(int index) {
        return apacheHome(brokers.get(index).name()).resolve("logs/rocketmqlogs/store.log");
    }

    /** The user.home of an Apache broker's JVM, beside the process logs. */
    private static Path apacheHome(String name) {
        return Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs")).toAbsolutePath()
                .resolve(name + "-home");
    }

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, text.getBytes(StandardCharsets.UTF_8));
        return p;
    }

    /** Sends one request with ext fields and returns the answer. */
    RemotingCommand invoke(String addr, int code, Map<String, String> ext, byte[] body, long timeoutMillis)
            throws Exception {
        RemotingCommand cmd = RemotingCommand.createRequestCommand(code, null);
        ext.forEach(cmd::addExtField);
        if (body != null) {
            cmd.setBody(body);
        }
        return client.invokeSync(addr, cmd, timeoutMillis);
    }

    /** The controller leader's address as a live controller names it, or null. */
    String controllerLeader() {
        for (int i = 0; i < CONTROLLERS; i++) {
            if (!controllers.get(i).isAlive()) {
                continue;
            }
            try {
                RemotingCommand r = invoke(controllerAddrs.get(i), GET_METADATA_INFO, Map.of(), null, 2000);
                String leader = r.getExtFields() == null ? null : r.getExtFields().get("controllerLeaderAddress");
                if (leader != null && !leader.isEmpty() && controllers.get(controllerAddrs.indexOf(leader)).isAlive()) {
                    return leader;
                }
            } catch (Exception e) {
                // try the next controller
            }
        }
        return null;
    }

    /** CONTROLLER_GET_REPLICA_INFO from the leader; null while there is no leader or no answer. */
    Replicas replicas() {
        String leader = controllerLeader();
        if (leader == null) {
            return null;
        }
        try {
            RemotingCommand r = invoke(leader, GET_REPLICA_INFO, Map.of("brokerName", BROKER_NAME), null, 2000);
            if (r.getCode() == NOT_LEADER || r.getCode() != 0) {
                return null;
            }
            Map<String, String> ext = r.getExtFields();
            TreeSet<Long> set = new TreeSet<>();
            Matcher m = SET.matcher(new String(r.getBody() == null ? new byte[0] : r.getBody(), StandardCharsets.UTF_8));
            if (m.find()) {
                for (String id : m.group(1).split(",")) {
                    if (!id.trim().isEmpty()) {
                        set.add(Long.parseLong(id.trim()));
                    }
                }
            }
            return new Replicas(ext.get("masterAddress"), Integer.parseInt(ext.getOrDefault("masterEpoch", "0")), set);
        } catch (Exception e) {
            return null;
        }
    }

    /** The index of the broker the controllers name master, or -1. */
    int masterIndex() {
        Replicas r = replicas();
        return r == null || r.masterAddress == null ? -1 : brokerAddrs.indexOf(r.masterAddress);
    }

    /** Waits until the set has a live master and `size` members in its sync state set; returns the replicas. */
    Replicas awaitSyncStateSet(int size, Duration timeout) throws InterruptedException {
        Replicas[] last = new Replicas[1];
        Await.until(timeout, () -> {
            last[0] = replicas();
            return last[0] != null && last[0].masterAddress != null
                    && brokers.get(brokerAddrs.indexOf(last[0].masterAddress)).isAlive()
                    && last[0].syncStateSet.size() == size;
        }, () -> "sync state set of " + size + " never formed; last " + last[0] + logs());
        return last[0];
    }

    /**
     * UPDATE_AND_CREATE_TOPIC on the master, then waits until every slave copied it (slaves refuse topic changes
     * and synchronize their topic config from the master).
     */
    void createTopic(String topic, int queues) throws Exception {
        String master = awaitSyncStateSet(brokers.size(), Duration.ofSeconds(60)).masterAddress;
        RemotingCommand r = invoke(master, UPDATE_AND_CREATE_TOPIC, Map.of("topic", topic, "defaultTopic", "TBW102",
                "readQueueNums", String.valueOf(queues), "writeQueueNums", String.valueOf(queues), "perm", "6",
                "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false"), null, 5000);
        if (r.getCode() != 0) {
            throw new AssertionError("creating " + topic + " on " + master + ": " + r.getCode() + " " + r.getRemark());
        }
        for (String addr : brokerAddrs) {
            Await.until(Duration.ofSeconds(60), () -> {
                RemotingCommand all = invoke(addr, GET_ALL_TOPIC_CONFIG, Map.of(), null, 3000);
                return all.getBody() != null
                        && new String(all.getBody(), StandardCharsets.UTF_8).contains("\"" + topic + "\"");
            }, () -> addr + " never had topic " + topic);
        }
    }

    /** The tails of every process log, for failure messages. */
    String logs() {
        StringBuilder b = new StringBuilder();
        for (Proc p : brokers) {
            b.append(p.describe());
        }
        for (Proc p : controllers) {
            b.append(p.describe());
        }
        return b.toString();
    }

    @Override
    public void close() throws Exception {
        client.shutdown();
        for (Proc p : brokers) {
            p.stop();
        }
        nameServer.stop();
        for (Proc p : controllers) {
            p.stop();
        }
        for (CutProxy p : proxies) {
            p.close();
        }
        deleteTree(dir);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover directory is not a test failure
        }
    }
}
