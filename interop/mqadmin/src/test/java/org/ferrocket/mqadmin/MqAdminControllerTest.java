package org.ferrocket.mqadmin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * RocketMQ 5's controller commands of the official mqadmin (getControllerMetaData, getSyncStateSet,
 * getControllerConfig, updateControllerConfig, electMaster, cleanBrokerMetadata) against three
 * `ferrocket controller` processes. The broker set's metadata is written with raw controller requests (the codes a
 * 5.x broker sends), then read back and changed by mqadmin.
 */
class MqAdminControllerTest {
    private static final String VERSION = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The leader every controller names (CONTROLLER_GET_METADATA_INFO), once they agree. */
    private static String agreedLeader(NettyRemotingClient client, List<String> addrs) throws Exception {
        for (int tries = 0; tries < 150; tries++) {
            java.util.Set<String> named = new java.util.HashSet<>();
            for (String a : addrs) {
                RemotingCommand r = client.invokeSync(a, RemotingCommand.createRequestCommand(1005, null), 3000);
                java.util.Map<String, String> ext = r.getExtFields();
                named.add(ext == null ? null : ext.get("controllerLeaderAddress"));
            }
            if (named.size() == 1 && !named.contains(null)) {
                return named.iterator().next();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the controllers never agreed on a leader");
    }

    /**
     * Sends a controller request to the leader, finding it again after CONTROLLER_NOT_LEADER (2007) as a broker
     * does (leadership may move while a young quorum settles).
     */
    private static RemotingCommand send(NettyRemotingClient client, List<String> addrs, int code, String... kv)
            throws Exception {
        RemotingCommand r = null;
        for (int tries = 0; tries < 20; tries++) {
            RemotingCommand cmd = RemotingCommand.createRequestCommand(code, null);
            for (int i = 0; i < kv.length; i += 2) {
                cmd.addExtField(kv[i], kv[i + 1]);
            }
            r = client.invokeSync(agreedLeader(client, addrs), cmd, 3000);
            if (r.getCode() != 2007) {
                break;
            }
            Thread.sleep(300);
        }
        assertEquals(0, r.getCode(), "code " + code + ": " + r.getRemark());
        return r;
    }

    @Test
    void controllerCommandsReadTheReplicatedMetadata() throws Exception {
        Assumptions.assumeTrue(VERSION.startsWith("V5_"), "controller commands came with mqadmin 5");
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-controller");
        List<String> addrs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            addrs.add("127.0.0.1:" + freePort());
        }
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            peers.append(i == 0 ? "" : ";").append("n").append(i).append('-').append(addrs.get(i));
        }
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        List<Process> procs = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        NettyRemotingClient client = new NettyRemotingClient(new NettyClientConfig());
        client.start();
        try {
            for (int i = 0; i < 3; i++) {
                Path conf = dir.resolve("c" + i + ".conf");
                Files.writeString(conf, "controllerDLegerGroup=mqadminGroup\ncontrollerDLegerPeers=" + peers
                        + "\ncontrollerDLegerSelfId=n" + i + "\ncontrollerStorePath=" + dir.resolve("store" + i) + "\n");
                Path log = logDir.resolve("controller" + i + ".log");
                logs.add(log);
                procs.add(new ProcessBuilder(List.of(Standalone.binary().toString(), "controller", "-c", conf.toString()))
                        .redirectErrorStream(true).redirectOutput(log.toFile()).start());
            }
            for (int i = 0; i < 3; i++) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.readString(logs.get(i), StandardCharsets.UTF_8).contains("controller is ready")) {
                    if (!procs.get(i).isAlive() || System.nanoTime() > deadline) {
                        throw new IllegalStateException("controller " + i + " did not start:\n" + Files.readString(logs.get(i)));
                    }
                    Thread.sleep(100);
                }
            }
            MqAdmin admin = new MqAdmin(addrs.get(0));
            String leader = null;
            String meta = "";
            Pattern leaderLine = Pattern.compile("#ControllerLeaderAddress\\t(127\\.0\\.0\\.1:\\d+)");
            for (int tries = 0; tries < 100 && leader == null; tries++) {
                meta = admin.run("getControllerMetaData", "-a", addrs.get(0)).out;
                Matcher m = leaderLine.matcher(meta);
                if (m.find()) {
                    leader = m.group(1);
                } else {
                    Thread.sleep(200);
                }
            }
            assertTrue(leader != null && addrs.contains(leader), meta);
            assertTrue(meta.contains("#ControllerGroup\tmqadminGroup"), meta);
            for (int i = 0; i < 3; i++) {
                assertTrue(meta.contains("#Peer:\tn" + i + ":" + addrs.get(i)), meta);
            }

            // What a 5.x broker would send: apply ids 1 and 2, register, elect 1.
            for (String id : new String[] {"1", "2"}) {
                String brokerAddr = "127.0.0.1:1091" + id;
                send(client, addrs, 1013, "clusterName", "c1", "brokerName", "broker-a", "appliedBrokerId", id,
                        "registerCheckCode", brokerAddr + ";1700000000000");
                send(client, addrs, 1003, "clusterName", "c1", "brokerName", "broker-a", "brokerId", id,
                        "brokerAddress", brokerAddr);
            }
            send(client, addrs, 1002, "clusterName", "c1", "brokerName", "broker-a", "brokerId", "1",
                    "designateElect", "false");

            String sync = admin.ok("getSyncStateSet", "-a", addrs.get(1), "-b", "broker-a");
            for (String want : new String[] {"#brokerName\tbroker-a", "#MasterBrokerId\t1", "#MasterAddr\t127.0.0.1:10911",
                "#MasterEpoch\t1", "#SyncStateSetEpoch\t1", "#SyncStateSetNums\t1", "InSyncReplica:", "NotInSyncReplica:"}) {
                assertTrue(sync.contains(want), want + " missing from\n" + sync);
            }

            String all = String.join(";", addrs);
            String config = admin.ok("getControllerConfig", "-a", all);
            for (String a : addrs) {
                assertTrue(config.contains("============" + a + "============"), config);
            }
            assertTrue(Pattern.compile("enableElectUncleanMaster\\s+=  false").matcher(config).find(), config);
            String updated = admin.ok("updateControllerConfig", "-a", all, "-k", "enableElectUncleanMaster", "-v", "true");
            assertTrue(updated.contains("update controller config success!"), updated);
            config = admin.ok("getControllerConfig", "-a", all);
            Matcher m = Pattern.compile("enableElectUncleanMaster\\s+=  true").matcher(config);
            int count = 0;
            while (m.find()) {
                count++;
            }
            assertEquals(3, count, config);
            MqAdmin.Result refused = admin.run("updateControllerConfig", "-a", all, "-k", "configStorePath", "-v", "/tmp/x");
            assertTrue(refused.failed(), refused.toString());

            // Both replicas heartbeat the leader; with enableElectUncleanMaster now on, electMaster may hand the
            // master role to replica 2 although it is outside the sync state set.
            for (String id : new String[] {"1", "2"}) {
                send(client, addrs, 904, "clusterName", "c1", "brokerName", "broker-a", "brokerAddr",
                        "127.0.0.1:1091" + id, "brokerId", id, "heartbeatTimeoutMills", "60000");
            }
            String elected = admin.ok("electMaster", "-a", addrs.get(2), "-c", "c1", "-bn", "broker-a", "-b", "2");
            for (String want : new String[] {"#BrokerName\tbroker-a", "#BrokerMasterAddr\t127.0.0.1:10912",
                "#MasterEpoch\t2", "#SyncStateSetEpoch\t2"}) {
                assertTrue(elected.contains(want), want + " missing from\n" + elected);
            }

            MqAdmin.Result living = admin.run("cleanBrokerMetadata", "-a", addrs.get(0), "-c", "c1", "-bn", "broker-a",
                    "-b", "1");
            assertTrue(living.failed() && living.err.contains("still alive"), living.toString());
            String cleaned = admin.ok("cleanBrokerMetadata", "-a", addrs.get(0), "-c", "c1", "-bn", "broker-a", "-b", "1",
                    "-l");
            assertTrue(cleaned.contains("clear broker broker-a metadata from controller success!"), cleaned);
            sync = admin.ok("getSyncStateSet", "-a", addrs.get(0), "-b", "broker-a");
            assertTrue(sync.contains("#MasterBrokerId\t2") && sync.contains("#MasterEpoch\t2"), sync);
            assertTrue(!sync.contains("brokerId=1"), sync);
        } finally {
            client.shutdown();
            for (Process p : procs) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            Standalone.deleteTree(dir);
        }
    }
}
