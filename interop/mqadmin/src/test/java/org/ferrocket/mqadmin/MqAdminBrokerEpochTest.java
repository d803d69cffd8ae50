package org.ferrocket.mqadmin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * mqadmin 5.x `getBrokerEpoch` against a real controller-mode broker: a name server with the controller
 * embedded (`enableControllerInNamesrv=true`, one peer) and one `ferrocket broker` with
 * `enableControllerMode=true`, which the controller makes master of its broker set (epoch 1). The command
 * finds the broker through the name server's route and asks it (GET_BROKER_EPOCH_CACHE) for its epoch file.
 */
class MqAdminBrokerEpochTest {
    private static final String VERSION = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);
    private static final String CLUSTER = "EpochCluster";
    private static final String BROKER = "broker-epoch";

    @Test
    void getBrokerEpochPrintsTheMastersEpochEntries() throws Exception {
        Assumptions.assumeTrue(VERSION.startsWith("V5_"), "getBrokerEpoch came with mqadmin 5");
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-epoch");
        String namesrv = "127.0.0.1:" + SlaveBroker.freePort();
        String controller = "127.0.0.1:" + SlaveBroker.freePort();
        int port = SlaveBroker.freePort();
        String brokerAddr = "127.0.0.1:" + port;
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        List<Process> procs = new ArrayList<>();
        try {
            Path nsConf = dir.resolve("namesrv.conf");
            Files.writeString(nsConf, "enableControllerInNamesrv=true\ncontrollerDLegerGroup=epochGroup\n"
                    + "controllerDLegerPeers=n0-" + controller + "\ncontrollerDLegerSelfId=n0\n"
                    + "controllerStorePath=" + dir.resolve("controller") + "\n");
            procs.add(start(List.of("namesrv", "--listen", namesrv, "-c", nsConf.toString()),
                    logDir.resolve("epoch-namesrv.log"), "ready"));
            Path brokerConf = dir.resolve("broker.conf");
            Files.writeString(brokerConf, "brokerClusterName=" + CLUSTER + "\nbrokerName=" + BROKER
                    + "\nbrokerIP1=127.0.0.1\nlistenPort=" + port + "\nhaListenPort=" + SlaveBroker.freePort()
                    + "\nnamesrvAddr=" + namesrv + "\nenableControllerMode=true\ncontrollerAddr=" + controller
                    + "\nmappedFileSizeCommitLog=" + (4 * 1024 * 1024) + "\nconsoleEnable=false\ngrpcServerPort=0\n");
            procs.add(start(List.of("broker", "-c", brokerConf.toString(), "--store", dir.resolve("store").toString()),
                    logDir.resolve("epoch-broker.log"), "is ready"));

            MqAdmin admin = new MqAdmin(namesrv);
            // the controller elects the lone replica; the broker then registers as master (id 0)
            String topic = "EpochTopic";
            MqAdmin.Result created = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                created = admin.run("updateTopic", "-c", CLUSTER, "-t", topic, "-r", "2", "-w", "2");
                if (!created.failed() && created.out.contains("create topic to " + brokerAddr + " success")) {
                    break;
                }
                Thread.sleep(300);
            }
            assertTrue(created != null && created.out.contains("success"), String.valueOf(created));
            // a producer of its own: mqadmin's sendMessage keeps one producer per JVM, used up by other tests
            DefaultMQProducer producer = new DefaultMQProducer("epoch_producer");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName("epoch-" + System.nanoTime());
            producer.start();
            try {
                SendResult sent = producer.send(new Message(topic, "epoch".getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), sent.toString());
            } finally {
                producer.shutdown();
            }

            String epochs = admin.ok("getBrokerEpoch", "-b", BROKER);
            for (String want : new String[] {"#clusterName\t" + CLUSTER, "#brokerName\t" + BROKER,
                "#brokerAddr\t" + brokerAddr}) {
                assertTrue(epochs.contains(want), want + " missing from\n" + epochs);
            }
            // the controller gave the broker id 1 (ids start at 1 in controller mode); it is master of epoch 1
            // from offset 0, and the last entry ends at the commit log's end, past the message sent
            Matcher id = Pattern.compile("#brokerId\\t(\\d+)").matcher(epochs);
            assertTrue(id.find() && Long.parseLong(id.group(1)) >= 1, epochs);
            Matcher entry = Pattern.compile("#Epoch: EpochEntry\\{epoch=1, startOffset=0, endOffset=(\\d+)\\}")
                    .matcher(epochs);
            assertTrue(entry.find(), epochs);
            assertTrue(Long.parseLong(entry.group(1)) > 0, "the epoch's end should cover the message\n" + epochs);

            String byCluster = admin.ok("getBrokerEpoch", "-c", CLUSTER);
            assertTrue(byCluster.contains("#brokerAddr\t" + brokerAddr) && byCluster.contains("EpochEntry{epoch=1"),
                    byCluster);
        } finally {
            for (Process p : procs) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            Standalone.deleteTree(dir);
        }
    }

    private static Process start(List<String> args, Path log, String readyText) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Standalone.binary().toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log, StandardCharsets.UTF_8).contains(readyText)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException(args.get(0) + " did not start:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return p;
    }
}
