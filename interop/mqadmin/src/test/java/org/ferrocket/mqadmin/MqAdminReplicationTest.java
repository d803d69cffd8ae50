package org.ferrocket.mqadmin;

import static org.ferrocket.mqadmin.Standalone.BROKER;
import static org.ferrocket.mqadmin.Standalone.CLUSTER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.text.SimpleDateFormat;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * The official mqadmin against a Ferrocket master and its slave: `clusterList` lists both with their ids,
 * addresses and figures, `brokerStatus` tells the master from the slave and shows their CommitLog ends,
 * and (5.x tools) `haStatus` shows the slave's connection on the master and the HA client on the slave.
 */
class MqAdminReplicationTest {
    private static final boolean V4 = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).startsWith("V4_");
    private static final int COMMIT_LOG_FILE_SIZE = 64 * 1024 * 1024;
    private static final String TOPIC = "MqAdminHaTopic";
    private static final int MESSAGES = 30;

    private static List<String> lines(String out) {
        return Arrays.stream(out.split("\\R")).map(String::trim).filter(l -> !l.isEmpty())
                .collect(Collectors.toList());
    }

    /** brokerStatus -b: `%-32s: %s` lines. */
    private static Map<String, String> brokerStatus(MqAdmin admin, String addr) {
        Map<String, String> kv = new HashMap<>();
        for (String l : lines(admin.ok("brokerStatus", "-b", addr))) {
            int colon = l.indexOf(':');
            if (colon > 0) {
                kv.put(l.substring(0, colon).trim(), l.substring(colon + 1).trim());
            }
        }
        return kv;
    }

    /** haStatus: the `#Key\tvalue` lines and the rows of the slave table. */
    private static Map<String, String> haHeader(String out) {
        Map<String, String> kv = new HashMap<>();
        for (String l : out.split("\\R")) {
            String[] parts = l.split("\t", 2);
            if (parts.length == 2 && parts[0].startsWith("#")) {
                kv.put(parts[0].substring(1), parts[1].trim());
            }
        }
        return kv;
    }

    private static long awaitEqualOffsets(MqAdmin admin, String master, String slave) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            String m = brokerStatus(admin, master).get("commitLogMaxOffset");
            String s = brokerStatus(admin, slave).get("commitLogMaxOffset");
            if (m != null && m.equals(s) && Long.parseLong(m) > 0) {
                return Long.parseLong(m);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the slave did not catch up: master " + m + ", slave " + s);
            }
            Thread.sleep(200);
        }
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(200);
        return true;
    }

    @Test
    void clusterListBrokerStatusAndHaStatusOfAMasterSlavePair() throws Exception {
        int masterHaPort = SlaveBroker.freePort();
        try (Standalone master = Standalone.start("ha-master", "brokerRole=ASYNC_MASTER\nhaListenPort="
                + masterHaPort + "\n");
                SlaveBroker slave = SlaveBroker.start("ha-slave", master, COMMIT_LOG_FILE_SIZE)) {
            MqAdmin admin = new MqAdmin(master.namesrv);
            admin.ok("updateTopic", "-b", master.brokerAddr, "-t", TOPIC, "-r", "4", "-w", "4");
            DefaultMQProducer producer = new DefaultMQProducer("mqadmin-ha-producer");
            producer.setNamesrvAddr(master.namesrv);
            producer.setInstanceName("mqadmin-ha-" + System.nanoTime());
            producer.start();
            try {
                for (int i = 0; i < MESSAGES; i++) {
                    SendResult r = producer.send(new Message(TOPIC, ("replicated " + i).getBytes()));
                    assertEquals(SendStatus.SEND_OK, r.getSendStatus());
                }
            } finally {
                producer.shutdown();
            }
            long end = awaitEqualOffsets(admin, master.brokerAddr, slave.brokerAddr);

            // clusterList: one row per broker id of broker-mqadmin, with its address and version
            String out = admin.ok("clusterList");
            Map<String, String[]> rows = new HashMap<>();
            for (String l : lines(out)) {
                String[] cols = l.split("\\s+");
                if (cols.length >= 10 && cols[0].equals(CLUSTER) && cols[1].equals(BROKER)) {
                    rows.put(cols[2], cols);
                }
            }
            assertEquals(2, rows.size(), out);
            assertEquals(master.brokerAddr, rows.get("0")[3], out);
            assertEquals(slave.brokerAddr, rows.get("1")[3], out);
            for (String[] cols : rows.values()) {
                assertTrue(cols[4].startsWith("V"), "version column: " + out);
                assertTrue(cols[5].matches("\\d+\\.\\d{2}\\(\\d+,\\d+ms\\)"), "#InTPS(LOAD): " + out);
                // #SPACE: the CommitLog disk's used ratio, a fraction in (0, 1]
                double space = Double.parseDouble(cols[cols.length - (V4 ? 1 : 2)]);
                assertTrue(space > 0 && space <= 1, "#SPACE: " + out);
                // #Hour: age of the oldest stored message, sent seconds ago (the slave holds the same one)
                double hour = Double.parseDouble(cols[cols.length - (V4 ? 2 : 3)]);
                assertTrue(hour >= 0 && hour < 0.1, "#Hour: " + out);
            }
            if (!V4) {
                // 5.x #ACTIVATED: a slave runs no schedule/transaction/revive services
                assertEquals("true", rows.get("0")[rows.get("0").length - 1], out);
                assertEquals("false", rows.get("1")[rows.get("1").length - 1], out);
            }

            // brokerStatus: both ends, the slave dispatched all it copied
            Map<String, String> m = brokerStatus(admin, master.brokerAddr);
            Map<String, String> s = brokerStatus(admin, slave.brokerAddr);
            assertEquals(String.valueOf(end), m.get("commitLogMaxOffset"), m.toString());
            assertEquals(String.valueOf(end), s.get("commitLogMaxOffset"), s.toString());
            assertEquals("true", m.get("brokerActive"), m.toString());
            assertEquals("false", s.get("brokerActive"), s.toString());
            assertEquals("0", s.get("dispatchBehindBytes"), s.toString());
            assertEquals("0", m.get("commitLogMinOffset"), m.toString());
            assertEquals(m.get("earliestMessageTimeStamp"), s.get("earliestMessageTimeStamp"), s.toString());

            if (V4) {
                // rocketmq-tools 4.9.x has no haStatus (GET_BROKER_HA_STATUS came with 5.0): checked, not skipped
                MqAdmin.Result r = admin.run("haStatus", "-b", master.brokerAddr);
                assertTrue(r.out.contains("The sub command haStatus not exist."), r.toString());
                return;
            }

            // haStatus on the master: one slave, in sync, acknowledged and next transfer at the end
            // (the slave acknowledges right after its append: poll briefly for that report)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            do {
                out = admin.ok("haStatus", "-b", master.brokerAddr);
            } while (!out.contains(" " + end + " ") && System.nanoTime() < deadline && sleep());
            Map<String, String> h = haHeader(out);
            assertEquals(master.brokerAddr, h.get("MasterAddr"), out);
            assertEquals(String.valueOf(end), h.get("MasterCommitLogMaxOffset"), out);
            assertEquals("1", h.get("SlaveNum"), out);
            assertEquals("1", h.get("InSyncSlaveNum"), out);
            String haOut = out;
            String[] row = lines(out).stream().filter(l -> l.startsWith("127.0.0.1:")).findFirst()
                    .orElseThrow(() -> new AssertionError("no slave row in\n" + haOut)).split("\\s+");
            // #SlaveAddr #SlaveAckOffset #Diff #TransferSpeed(KB/s) #Status #TransferFromWhere
            assertEquals(String.valueOf(end), row[1], out);
            assertEquals("0", row[2], out);
            assertTrue(Double.parseDouble(row[3]) >= 0, out);
            assertEquals("OK", row[4], out);
            assertEquals(String.valueOf(end), row[5], out);

            // haStatus on the slave: its HA client, connected to the master's HA port
            String slaveOut = admin.ok("haStatus", "-b", slave.brokerAddr);
            h = haHeader(slaveOut);
            assertEquals("127.0.0.1:" + masterHaPort, h.get("MasterAddr"), slaveOut);
            assertEquals(String.valueOf(end), h.get("CommitLogMaxOffset"), slaveOut);
            assertTrue(Double.parseDouble(h.get("TransferSpeed(KB/s)")) >= 0, slaveOut);
            // a connected client read and reported within the last heartbeats (5 s apart)
            for (String key : List.of("LastReadTime", "LastWriteTime")) {
                long t = new SimpleDateFormat("yyyy-MM-dd HH:mm:ss,SSS").parse(h.get(key)).getTime();
                long age = System.currentTimeMillis() - t;
                assertTrue(age >= -1000 && age < 30_000, key + " " + age + " ms ago:\n" + slaveOut);
            }
            assertEquals("0", h.get("MasterFlushOffset"), slaveOut);
        }
    }
}
