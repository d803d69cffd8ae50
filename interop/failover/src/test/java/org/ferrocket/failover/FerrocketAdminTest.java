package org.ferrocket.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.ferrocket.failover.support.Await;
import org.junit.jupiter.api.Test;

/**
 * The official mqadmin's electMaster and cleanBrokerMetadata against a set of three `ferrocket broker` processes
 * (the controllers' side of both commands is also shown with Apache brokers in {@link ApacheBrokersTest}). With the
 * official producer sending throughout:
 * <ol>
 * <li>electMaster of a broker that is not running is refused, and nothing changes;</li>
 * <li>electMaster designates broker 2 (a slave in the sync state set): the brokers follow, the writes move to it,
 * the deposed master rejoins as a slave, and every acknowledged message is at its queue and offset;</li>
 * <li>broker 3 stops; once the controllers see it gone, cleanBrokerMetadata removes it from their metadata.</li>
 * </ol>
 */
class FerrocketAdminTest {
    private static final String TOPIC = "FerrocketAdminLoad";
    private static final int SENDERS = 4;
    private static final Duration SET_FORMS = Duration.ofSeconds(60);

    @Test
    void electMasterAndCleanBrokerMetadataOnFerrocketBrokers() throws Exception {
        try (BrokerSet set = new BrokerSet("admin", false)) {
            MqAdmin admin = new MqAdmin(set.namesrv);
            // one after the other, so that broker i takes id i + 1 and the first is master
            set.brokers.get(0).start();
            Await.until(SET_FORMS, () -> set.masterIndex() == 0, () -> "no master elected" + set.logs());
            for (int i = 1; i < set.brokers.size(); i++) {
                set.brokers.get(i).start();
                set.awaitSyncStateSet(i + 1, SET_FORMS);
            }
            String first = set.brokerAddrs.get(0);
            String second = set.brokerAddrs.get(1);
            set.createTopic(TOPIC, 4);

            Ledger ledger = new Ledger();
            DefaultMQProducer producer = KillMasterUnderLoadTest.producer(set.namesrv);
            Ledger.Senders senders = ledger.startSenders(producer, TOPIC, "f", SENDERS);
            long electToWriteMs;
            try {
                ApacheBrokersTest.awaitWrites(ledger, first, 200, set);
                BrokerSet.Replicas before = set.replicas();

                // 1) a broker id the controllers never heard of cannot be elected; the master stays
                MqAdmin.Result unknown = admin.run("electMaster", "-a", set.controllerLeader(), "-c",
                        BrokerSet.CLUSTER, "-bn", BrokerSet.BROKER_NAME, "-b", "9");
                assertTrue(unknown.failed(), "electMaster of an unknown broker succeeded: " + unknown);
                BrokerSet.Replicas unchanged = set.replicas();
                assertTrue(unchanged != null && first.equals(unchanged.masterAddress)
                        && unchanged.masterEpoch == before.masterEpoch, unchanged + " (before " + before + ")");

                // 2) electMaster designates broker 2; the brokers follow and the writes move to it
                long elect = System.nanoTime();
                String elected = admin.ok("electMaster", "-a", set.controllerLeader(), "-c", BrokerSet.CLUSTER,
                        "-bn", BrokerSet.BROKER_NAME, "-b", "2");
                assertTrue(elected.contains("#BrokerMasterAddr\t" + second), elected);
                electToWriteMs = ApacheBrokersTest.firstWriteBy(ledger, second, elect, set);
                BrokerSet.Replicas moved = set.awaitSyncStateSet(3, SET_FORMS);
                assertEquals(second, moved.masterAddress, moved.toString());
                assertTrue(moved.masterEpoch > before.masterEpoch, moved.toString());
                String sync = ApacheBrokersTest.syncStateSet(admin, set);
                assertTrue(sync.contains("#MasterBrokerId\t2\n") && sync.contains("#MasterAddr\t" + second + "\n"),
                        sync);
                assertEquals(3, ApacheBrokersTest.inSync(sync).size(), sync);
                System.out.printf("electMaster -b 2: first write by %s after %d ms (%s)%n", second, electToWriteMs,
                        moved);
                ApacheBrokersTest.awaitWrites(ledger, second, ledger.acks.size() + 200, set);
            } finally {
                senders.close();
            }
            Ledger.Stored stored = Ledger.readAll(set.namesrv, TOPIC);
            int duplicates = ledger.check(stored);

            // 3) broker 3 stops; a living broker is refused, a gone one is removed
            String leader = set.controllerLeader();
            MqAdmin.Result living = admin.run("cleanBrokerMetadata", "-a", leader, "-c", BrokerSet.CLUSTER, "-bn",
                    BrokerSet.BROKER_NAME, "-b", "3");
            assertTrue(living.failed(), "cleanBrokerMetadata of a living broker succeeded: " + living);
            set.brokers.get(2).stop();
            MqAdmin.Result[] clean = new MqAdmin.Result[1];
            Await.until(Duration.ofSeconds(30), () -> !(clean[0] = admin.run("cleanBrokerMetadata", "-a",
                    set.controllerLeader(), "-c", BrokerSet.CLUSTER, "-bn", BrokerSet.BROKER_NAME, "-b", "3")).failed(),
                () -> "cleanBrokerMetadata of the stopped broker 3 never succeeded: " + clean[0]);
            assertTrue(clean[0].out.contains("success"), clean[0].toString());
            BrokerSet.Replicas[] r = new BrokerSet.Replicas[1];
            Await.until(SET_FORMS, () -> (r[0] = set.replicas()) != null && r[0].syncStateSet.equals(Set.of(1L, 2L)),
                () -> "broker 3 is still in the sync state set: " + r[0] + set.logs());
            String sync = ApacheBrokersTest.syncStateSet(admin, set);
            assertTrue(!sync.contains("brokerId=3"), "broker 3 is still known to the controllers:\n" + sync);

            System.out.printf("FERROCKET ADMIN FIGURES: mqadmin electMaster -> first write by the designated broker: "
                    + "%d ms; acked=%d stored=%d failed attempts=%d %s duplicates=%d%n", electToWriteMs,
                    ledger.acks.size(), stored.messages, ledger.failedAttempts.get(), ledger.failures, duplicates);
        }
    }
}
