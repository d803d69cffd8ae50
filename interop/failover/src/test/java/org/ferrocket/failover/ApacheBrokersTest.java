package org.ferrocket.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.ferrocket.failover.support.Await;
import org.junit.jupiter.api.Test;

/**
 * Three `ferrocket controller` processes and the Ferrocket name server manage a set of two Apache RocketMQ 5
 * brokers in controller mode (the rocketmq-broker jars of the client's version, each in a JVM of its own,
 * allAckInSyncStateSet). With the official producer sending through the first five steps, and the official mqadmin
 * reading and changing the controllers' metadata:
 * <ol>
 * <li>the brokers take ids 1 and 2 from the controllers, the first is elected master and the second joins the sync
 * state set;</li>
 * <li>the master is killed -9: the controllers elect the slave and the writes resume on it;</li>
 * <li>the killed broker restarts and rejoins as a slave (Apache's auto-switch HA truncates and catches up);</li>
 * <li>the controller leader is killed -9: the new leader keeps the live master;</li>
 * <li>mqadmin electMaster hands the master role back to broker 1 and the writes follow it; every acknowledged
 * message is then at its queue and offset on that master;</li>
 * <li>both brokers are killed; the controllers keep the set without a master, do not elect broker 2 (outside the
 * sync state set) when it alone returns, and elect broker 1 when it returns;</li>
 * <li>mqadmin cleanBrokerMetadata removes the stopped broker 2 from the controllers' metadata.</li>
 * </ol>
 */
class ApacheBrokersTest {
    private static final String TOPIC = "ApacheBrokersLoad";
    private static final int SENDERS = 4;
    private static final Duration SET_FORMS = Duration.ofSeconds(60);
    private static final Pattern IN_SYNC = Pattern.compile(
            "InSyncReplica:\\tReplicaIdentity\\{[^}]*brokerId=(\\d+), brokerAddress='([^']*)'");
    static final Pattern NOT_IN_SYNC = Pattern.compile(
            "NotInSyncReplica:\\tReplicaIdentity\\{[^}]*brokerId=(\\d+)");

    @Test
    void ferrocketControllersDriveApacheBrokers() throws Exception {
        try (BrokerSet set = new BrokerSet("apache", false, 2, BrokerSet.Brokers.APACHE)) {
            MqAdmin admin = new MqAdmin(set.namesrv);
            String first = set.brokerAddrs.get(0);
            String second = set.brokerAddrs.get(1);

            // a) one after the other, so that the first takes id 1 and is master, the second takes id 2
            set.brokers.get(0).start();
            Await.until(SET_FORMS, () -> set.masterIndex() == 0, () -> "no master elected" + set.logs());
            set.brokers.get(1).start();
            BrokerSet.Replicas formed = set.awaitSyncStateSet(2, SET_FORMS);
            assertEquals(first, formed.masterAddress, formed.toString());
            assertEquals(Set.of(1L, 2L), formed.syncStateSet, formed.toString());
            String sync = syncStateSet(admin, set);
            assertTrue(sync.contains("#MasterBrokerId\t1\n") && sync.contains("#MasterAddr\t" + first + "\n")
                    && sync.contains("#SyncStateSetNums\t2\n"), sync);
            assertEquals(List.of("1=" + first, "2=" + second), inSync(sync), sync);
            // each broker stored the id it applied for (Apache's BrokerMetadata file: cluster#name#id)
            for (int i = 0; i < 2; i++) {
                String identity = Files.readString(set.dir.resolve("store" + i).resolve("brokerIdentity"),
                        StandardCharsets.UTF_8).trim();
                assertEquals(BrokerSet.CLUSTER + "#" + BrokerSet.BROKER_NAME + "#" + (i + 1), identity);
            }

            set.createTopic(TOPIC, 4);
            Ledger ledger = new Ledger();
            DefaultMQProducer producer = KillMasterUnderLoadTest.producer(set.namesrv);
            Ledger.Senders senders = ledger.startSenders(producer, TOPIC, "a", SENDERS);
            long killToWriteMs;
            long electToWriteMs;
            try {
                awaitWrites(ledger, first, 200, set);

                // b) kill -9 the Apache master: the controllers elect broker 2 and the writes go on there
                long killed = System.nanoTime();
                set.brokers.get(0).kill9();
                killToWriteMs = firstWriteBy(ledger, second, killed, set);
                BrokerSet.Replicas afterKill = set.awaitSyncStateSet(1, SET_FORMS);
                assertEquals(second, afterKill.masterAddress, afterKill.toString());
                assertTrue(afterKill.masterEpoch > formed.masterEpoch, afterKill.toString());
                System.out.printf("kill -9 of Apache master %s: first write by %s after %d ms (%s)%n", first, second,
                        killToWriteMs, afterKill);

                // c) the killed broker restarts on its store and rejoins as the slave
                set.brokers.get(0).start();
                BrokerSet.Replicas rejoined = set.awaitSyncStateSet(2, SET_FORMS);
                assertEquals(second, rejoined.masterAddress, rejoined.toString());
                // Apache's AutoSwitchHAClient compared its epoch file with the new master's and cut its commit log
                // at the first offset they disagree on (only a tail the slave never confirmed is actually cut)
                String truncate = lastLine(set.apacheStoreLog(0), "truncateOffset is");
                assertTrue(truncate != null, "the restarted broker never ran the auto-switch HA handshake");
                String cut = lastLine(set.apacheStoreLog(0), "truncate dirty files to");
                System.out.println("rejoined as slave of " + second + ": " + truncate + "; "
                        + (cut == null ? "nothing to cut" : cut));
                sync = syncStateSet(admin, set);
                assertTrue(sync.contains("#MasterBrokerId\t2\n"), sync);
                assertEquals(List.of("1=" + first, "2=" + second), inSync(sync), sync);
                awaitWrites(ledger, second, ledger.acks.size() + 200, set);
                // d) kill -9 the controller leader: the new leader keeps the live master
                controllerLeaderKill(set, ledger, rejoined);

                // e) mqadmin electMaster designates broker 1; the brokers follow and the writes move to it
                long elect = System.nanoTime();
                String elected = admin.ok("electMaster", "-a", set.controllerLeader(), "-c", BrokerSet.CLUSTER,
                        "-bn", BrokerSet.BROKER_NAME, "-b", "1");
                assertTrue(elected.contains("#BrokerMasterAddr\t" + first), elected);
                electToWriteMs = firstWriteBy(ledger, first, elect, set);
                BrokerSet.Replicas moved = set.awaitSyncStateSet(2, SET_FORMS);
                assertEquals(first, moved.masterAddress, moved.toString());
                assertTrue(moved.masterEpoch > rejoined.masterEpoch, moved.toString());
                System.out.printf("electMaster -b 1: first write by %s after %d ms (%s)%n", first, electToWriteMs,
                        moved);
                awaitWrites(ledger, first, ledger.acks.size() + 200, set);
            } finally {
                senders.close();
            }
            Ledger.Stored stored = Ledger.readAll(set.namesrv, TOPIC);
            int duplicates = ledger.check(stored);

            // f) both brokers down; only the one in the retained sync state set may be elected
            long restartToMasterMs = fullOutage(set, first, second);
            // everything acknowledged is still there, on the master elected after the outage
            Ledger.Stored afterOutage = Ledger.readAll(set.namesrv, TOPIC);
            ledger.check(afterOutage);
            assertEquals(stored.messages, afterOutage.messages, "messages stored before and after the outage");

            // g) broker 2 stops; once the controllers see it gone, cleanBrokerMetadata removes it
            set.brokers.get(1).stop();
            sync = syncStateSet(admin, set);
            assertTrue(sync.contains("brokerId=2, brokerAddress='" + second + "'"),
                    "broker 2 is not listed:\n" + sync);
            String leader = set.controllerLeader();
            MqAdmin.Result[] clean = new MqAdmin.Result[1];
            Await.until(Duration.ofSeconds(30), () -> !(clean[0] = admin.run("cleanBrokerMetadata", "-a", leader,
                    "-c", BrokerSet.CLUSTER, "-bn", BrokerSet.BROKER_NAME, "-b", "2")).failed(),
                () -> "cleanBrokerMetadata of the stopped broker 2 never succeeded: " + clean[0]);
            assertTrue(clean[0].out.contains("success"), clean[0].toString());
            sync = syncStateSet(admin, set);
            assertTrue(sync.contains("#MasterBrokerId\t1\n"), sync);
            assertEquals(List.of("1=" + first), inSync(sync), sync);
            assertTrue(!NOT_IN_SYNC.matcher(sync).find(), "broker 2 is still known to the controllers:\n" + sync);
            BrokerSet.Replicas cleaned = set.replicas();
            assertTrue(cleaned != null && cleaned.syncStateSet.equals(new TreeSet<>(Set.of(1L))),
                    String.valueOf(cleaned));

            System.out.printf("APACHE BROKERS FIGURES: kill -9 of the Apache master -> first write by the elected "
                            + "Apache slave: %d ms; mqadmin electMaster -> first write by the designated broker: "
                            + "%d ms; "
                            + "full outage: restart of the sync state set's broker -> elected %d ms; "
                            + "acked=%d stored=%d failed attempts=%d %s duplicates=%d%n",
                    killToWriteMs, electToWriteMs, restartToMasterMs, ledger.acks.size(), stored.messages,
                    ledger.failedAttempts.get(), ledger.failures, duplicates);
        }
    }

    /**
     * Kills -9 the controller leader: the other two elect a new one, which must keep the live Apache master (the
     * brokers heartbeat every controller, so the new leader knows it is alive) while the writes go on; then the
     * killed controller restarts and rejoins the quorum.
     */
    private static void controllerLeaderKill(BrokerSet set, Ledger ledger, BrokerSet.Replicas before)
            throws Exception {
        String oldLeader = set.controllerLeader();
        int index = set.controllerAddrs.indexOf(oldLeader);
        set.controllers.get(index).kill9();
        long killed = System.nanoTime();
        String[] newLeader = new String[1];
        Await.until(SET_FORMS, () -> (newLeader[0] = set.controllerLeader()) != null && !newLeader[0].equals(oldLeader),
                () -> "no new controller leader after " + oldLeader + " was killed" + set.logs());
        long electedMs = (System.nanoTime() - killed) / 1_000_000;
        // longer than controllerHeartBeatTimeoutMills plus a scan: a master the new leader thought silent would
        // have been replaced by now
        Thread.sleep(BrokerSet.HEARTBEAT_TIMEOUT_MS + 1500);
        BrokerSet.Replicas after = set.replicas();
        assertTrue(after != null && before.masterAddress.equals(after.masterAddress)
                && after.masterEpoch == before.masterEpoch, "the new controller leader changed the master: " + after
                + " (before " + before + ")" + set.logs());
        awaitWrites(ledger, before.masterAddress, ledger.acks.size() + 200, set);
        set.controllers.get(index).start();
        System.out.printf("kill -9 of controller leader %s: %s leads after %d ms and keeps %s%n", oldLeader,
                newLeader[0], electedMs, after);
    }

    /**
     * Both brokers go down: broker 2 (the slave) first, so that the master shrinks the sync state set to itself,
     * then the master. The controllers keep the set without a master. Broker 2 restarts first and must not be
     * elected (it is outside the sync state set, and unclean elections are off); broker 1 restarts and is elected,
     * and broker 2 rejoins as its slave.
     *
     * @return milliseconds from broker 1's restart to its election
     */
    private static long fullOutage(BrokerSet set, String first, String second) throws Exception {
        set.brokers.get(1).kill9();
        BrokerSet.Replicas[] r = new BrokerSet.Replicas[1];
        Await.until(SET_FORMS, () -> (r[0] = set.replicas()) != null && r[0].syncStateSet.equals(Set.of(1L)),
                () -> "the master never dropped the killed slave from the sync state set: " + r[0] + set.logs());
        set.brokers.get(0).kill9();
        Await.until(SET_FORMS, () -> (r[0] = set.replicas()) != null
                        && (r[0].masterAddress == null || r[0].masterAddress.isEmpty()),
                () -> "the controllers still name a master with both brokers down: " + r[0] + set.logs());
        set.brokers.get(1).start();
        // longer than a heartbeat timeout and an inactive-master scan, with broker 2 asking to be elected
        Thread.sleep(BrokerSet.HEARTBEAT_TIMEOUT_MS + 1500);
        BrokerSet.Replicas waiting = set.replicas();
        assertTrue(waiting != null && (waiting.masterAddress == null || waiting.masterAddress.isEmpty())
                && waiting.syncStateSet.equals(Set.of(1L)), "broker 2 was elected from outside the sync state set: "
                + waiting + set.logs());
        long restart = System.nanoTime();
        set.brokers.get(0).start();
        Await.until(SET_FORMS, () -> set.masterIndex() == 0, () -> "broker 1 was not elected" + set.logs());
        long electedMs = (System.nanoTime() - restart) / 1_000_000;
        BrokerSet.Replicas whole = set.awaitSyncStateSet(2, SET_FORMS);
        assertEquals(first, whole.masterAddress, whole.toString());
        System.out.printf("full outage: no master while only %s (outside the sync state set) ran (%s); %s elected "
                + "%d ms after its restart; %s%n", second, waiting, first, electedMs, whole);
        return electedMs;
    }

    /** mqadmin getSyncStateSet of the set, asked of the first controller (any one answers from its state). */
    static String syncStateSet(MqAdmin admin, BrokerSet set) {
        return admin.ok("getSyncStateSet", "-a", String.join(";", set.controllerAddrs), "-b", BrokerSet.BROKER_NAME);
    }

    /** The last line of the file that contains `what`, or null. */
    private static String lastLine(Path file, String what) throws IOException {
        String found = null;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.contains(what)) {
                found = line;
            }
        }
        return found;
    }

    /** The "id=address" of every InSyncReplica line, in id order. */
    static List<String> inSync(String sync) {
        TreeSet<String> ids = new TreeSet<>();
        Matcher m = IN_SYNC.matcher(sync);
        while (m.find()) {
            ids.add(m.group(1) + "=" + m.group(2));
        }
        return new ArrayList<>(ids);
    }

    /** Waits until `count` messages are acknowledged in all, the last of them stored by `broker`. */
    static void awaitWrites(Ledger ledger, String broker, int count, BrokerSet set)
            throws InterruptedException {
        Await.until(Duration.ofSeconds(60), () -> ledger.acks.size() >= count && broker.equals(lastStoreHost(ledger)),
                () -> "fewer than " + count + " writes, or not on " + broker + ": " + ledger.acks.size() + " "
                        + ledger.failures + set.logs());
    }

    private static String lastStoreHost(Ledger ledger) {
        Ledger.Ack last = null;
        for (Ledger.Ack a : ledger.acks) {
            last = a;
        }
        return last == null ? null : last.storeHost;
    }

    /** Milliseconds from `sinceNanos` to the first acknowledgement by `broker` of a send started after it. */
    static long firstWriteBy(Ledger ledger, String broker, long sinceNanos, BrokerSet set)
            throws InterruptedException {
        Ledger.Ack[] first = new Ledger.Ack[1];
        Await.until(Duration.ofSeconds(60), () -> {
            for (Ledger.Ack a : ledger.acks) {
                if (a.attemptStartNanos >= sinceNanos && broker.equals(a.storeHost)
                        && (first[0] == null || a.ackNanos < first[0].ackNanos)) {
                    first[0] = a;
                }
            }
            return first[0] != null;
        }, () -> "no write acknowledged by " + broker + ": " + ledger.failures + set.logs());
        return (first[0].ackNanos - sinceNanos) / 1_000_000;
    }
}
