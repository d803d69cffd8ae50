package org.ferrocket.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.failover.support.Await;
import org.junit.jupiter.api.Test;

/**
 * One broker set of a `ferrocket broker` (id 1) and an Apache RocketMQ 5 broker (id 2, the rocketmq-broker jars of
 * the client's version), both in controller mode with allAckInSyncStateSet, under the Ferrocket controllers, so
 * that every write is acknowledged only once the other broker has it: each copies the other's CommitLog over
 * RocketMQ's auto-switch HA protocol. With the official producer sending throughout:
 * <ol>
 * <li>the Apache broker replicates from the Ferrocket master and joins the sync state set;</li>
 * <li>kill -9 of the Ferrocket master: the controllers elect the Apache broker and the writes resume on it;</li>
 * <li>the Ferrocket broker restarts on its store and rejoins as the Apache master's slave (the epoch handshake
 * cuts what it wrote and nobody acknowledged) and the sync state set is whole again;</li>
 * <li>mqadmin electMaster hands the master role back to the Ferrocket broker and the Apache broker follows as
 * its slave;</li>
 * </ol>
 * then every acknowledged message is at its queue and offset, and both CommitLogs and both epoch files are
 * byte-identical.
 */
class MixedSetTest {
    private static final String TOPIC = "MixedSetLoad";
    private static final int SENDERS = 4;
    private static final Duration SET_FORMS = Duration.ofSeconds(60);
    private static final int GET_BROKER_EPOCH_CACHE = 1007;
    private static final Pattern MAX_OFFSET = Pattern.compile("\"maxOffset\"\\s*:\\s*(\\d+)");

    @Test
    void aFerrocketAndAnApacheBrokerReplicateEachOther() throws Exception {
        try (BrokerSet set = new BrokerSet("mixed", false, 2, BrokerSet.Brokers.MIXED)) {
            MqAdmin admin = new MqAdmin(set.namesrv);
            String ferrocket = set.brokerAddrs.get(0);
            String apache = set.brokerAddrs.get(1);

            // 1) the Ferrocket broker takes id 1 and is master; the Apache broker takes id 2 and catches up
            set.brokers.get(0).start();
            Await.until(SET_FORMS, () -> set.masterIndex() == 0, () -> "no master elected" + set.logs());
            set.brokers.get(1).start();
            BrokerSet.Replicas formed = set.awaitSyncStateSet(2, SET_FORMS);
            assertEquals(ferrocket, formed.masterAddress, formed.toString());
            assertEquals(Set.of(1L, 2L), formed.syncStateSet, formed.toString());
            set.createTopic(TOPIC, 4);

            Ledger ledger = new Ledger();
            DefaultMQProducer producer = KillMasterUnderLoadTest.producer(set.namesrv);
            Ledger.Senders senders = ledger.startSenders(producer, TOPIC, "m", SENDERS);
            long killToWriteMs;
            long electToWriteMs;
            try {
                ApacheBrokersTest.awaitWrites(ledger, ferrocket, 300, set);

                // 2) kill -9 of the Ferrocket master: the Apache slave is elected and takes the writes
                long killed = System.nanoTime();
                set.brokers.get(0).kill9();
                killToWriteMs = ApacheBrokersTest.firstWriteBy(ledger, apache, killed, set);
                System.out.printf("kill -9 of the Ferrocket master: first write by the Apache broker after %d ms%n",
                        killToWriteMs);

                // 3) the Ferrocket broker rejoins as the Apache master's slave
                set.brokers.get(0).start();
                BrokerSet.Replicas rejoined = set.awaitSyncStateSet(2, SET_FORMS);
                assertEquals(apache, rejoined.masterAddress, rejoined.toString());
                ApacheBrokersTest.awaitWrites(ledger, apache, ledger.acks.size() + 300, set);

                // 4) electMaster -b 1: the Ferrocket broker is master again, the Apache broker its slave
                long elect = System.nanoTime();
                String elected = admin.ok("electMaster", "-a", set.controllerLeader(), "-c", BrokerSet.CLUSTER,
                        "-bn", BrokerSet.BROKER_NAME, "-b", "1");
                assertTrue(elected.contains("#BrokerMasterAddr\t" + ferrocket), elected);
                electToWriteMs = ApacheBrokersTest.firstWriteBy(ledger, ferrocket, elect, set);
                BrokerSet.Replicas back = set.awaitSyncStateSet(2, SET_FORMS);
                assertEquals(ferrocket, back.masterAddress, back.toString());
                ApacheBrokersTest.awaitWrites(ledger, ferrocket, ledger.acks.size() + 300, set);
                System.out.printf("electMaster -b 1: first write by the Ferrocket broker after %d ms (%s)%n",
                        electToWriteMs, back);
            } finally {
                senders.close();
            }
            Ledger.Stored stored = Ledger.readAll(set.namesrv, TOPIC);
            int duplicates = ledger.check(stored);

            // the Apache slave holds the Ferrocket master's CommitLog byte for byte, and the same epochs
            long[] ends = new long[2];
            Await.until(SET_FORMS, () -> {
                ends[0] = maxOffset(set, ferrocket);
                ends[1] = maxOffset(set, apache);
                return ends[0] > 0 && ends[0] == ends[1];
            }, () -> "the Apache slave did not catch up: master ends at " + ends[0] + ", slave at " + ends[1]);
            Path ferrocketStore = set.dir.resolve("store0");
            Path apacheStore = set.dir.resolve("store1");
            assertEquals(digest(ferrocketStore.resolve("commitlog"), ends[0]),
                    digest(apacheStore.resolve("commitlog"), ends[0]), "CommitLogs differ in their first " + ends[0]
                            + " bytes");
            String epochs = Files.readString(ferrocketStore.resolve("epochFileCheckpoint"), StandardCharsets.UTF_8);
            assertEquals(epochs, Files.readString(apacheStore.resolve("epochFileCheckpoint"),
                    StandardCharsets.UTF_8), "epoch files differ");
            assertTrue(epochs.startsWith("3\n"), "three masterships expected in the epoch file:\n" + epochs);

            System.out.printf("MIXED SET FIGURES: kill -9 of the Ferrocket master -> first write by the Apache "
                            + "broker: %d ms; mqadmin electMaster -> first write by the Ferrocket broker: %d ms; "
                            + "CommitLogs identical over %d bytes; epochs %s; acked=%d stored=%d failed attempts=%d "
                            + "%s duplicates=%d%n",
                    killToWriteMs, electToWriteMs, ends[0], epochs.replace('\n', ' ').trim(), ledger.acks.size(),
                    stored.messages, ledger.failedAttempts.get(), ledger.failures, duplicates);
        }
    }

    /** The CommitLog's end as GET_BROKER_EPOCH_CACHE reports it, or -1 while the broker does not answer. */
    private static long maxOffset(BrokerSet set, String broker) {
        try {
            RemotingCommand r = set.invoke(broker, GET_BROKER_EPOCH_CACHE, Map.of(), null, 3000);
            Matcher m = MAX_OFFSET.matcher(new String(r.getBody() == null ? new byte[0] : r.getBody(),
                    StandardCharsets.UTF_8));
            return r.getCode() == 0 && m.find() ? Long.parseLong(m.group(1)) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    /** SHA-256 of the first `length` bytes of the CommitLog files in `dir`, in offset order. */
    private static String digest(Path dir, long length) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.sorted().collect(Collectors.toList());
        }
        long left = length;
        byte[] buf = new byte[1 << 16];
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                int n;
                while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                    sha.update(buf, 0, n);
                    left -= n;
                }
            } catch (IOException e) {
                throw new IOException("reading " + f, e);
            }
            if (left == 0) {
                break;
            }
        }
        assertEquals(0, left, "the CommitLog in " + dir + " is shorter than " + length + " bytes");
        StringBuilder hex = new StringBuilder();
        for (byte b : sha.digest()) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
    }
}
