package org.ferrocket.failover;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.ferrocket.failover.support.Await;
import org.junit.jupiter.api.Test;

/**
 * Eight threads send with the official producer (synchronous, unique bodies, allAckInSyncStateSet brokers)
 * while the test kills -9 the set's master five times (the third time the controller leader as well), each
 * time restarting the killed processes so the set returns to three in-sync replicas. Afterwards every
 * acknowledged message must be at the queue and offset it was acknowledged at, and a body stored twice must be
 * one the test sent twice. Prints the time from each kill to the first write the new master accepted.
 */
class KillMasterUnderLoadTest {
    private static final String TOPIC = "FailoverLoad";
    private static final int SENDERS = 8;
    private static final int KILLS = 5;
    /** The kill (0-based) at which the controller leader is killed together with the master. */
    private static final int CONTROLLER_KILL = 2;
    private static final Duration SET_FORMS = Duration.ofSeconds(60);

    @Test
    void everyAcknowledgedMessageSurvivesFiveMasterKills() throws Exception {
        try (BrokerSet set = new BrokerSet("load", false)) {
            for (int i = 0; i < BrokerSet.BROKERS; i++) {
                set.brokers.get(i).start();
            }
            set.awaitSyncStateSet(BrokerSet.BROKERS, SET_FORMS);
            set.createTopic(TOPIC, 4);
            Ledger ledger = new Ledger();
            DefaultMQProducer producer = producer(set.namesrv);
            Ledger.Senders senders = ledger.startSenders(producer, TOPIC, "t", SENDERS);
            List<Long> gapsMillis = new ArrayList<>();
            try {
                for (int k = 0; k < KILLS; k++) {
                    gapsMillis.add(killMasterOnce(set, ledger, k == CONTROLLER_KILL));
                }
                set.awaitSyncStateSet(BrokerSet.BROKERS, SET_FORMS);
                Thread.sleep(1000);
            } finally {
                senders.close();
            }
            Ledger.Stored stored = Ledger.readAll(set.namesrv, TOPIC);
            int duplicates = ledger.check(stored);
            List<Long> sorted = new ArrayList<>(gapsMillis);
            Collections.sort(sorted);
            long median = sorted.get(sorted.size() / 2);
            long max = sorted.get(sorted.size() - 1);
            System.out.printf("FAILOVER FIGURES: kills=%d (controller leader killed too at kill %d) "
                            + "kill->first write by the new master: median=%d ms max=%d ms per kill=%s; "
                            + "acked=%d stored=%d failed attempts=%d %s duplicates=%d%n",
                    KILLS, CONTROLLER_KILL + 1, median, max, gapsMillis, ledger.acks.size(), stored.messages,
                    ledger.failedAttempts.get(), ledger.failures, duplicates);
            assertTrue(ledger.acks.size() > 1000, "too few messages acknowledged: " + ledger.acks.size());
        }
    }

    static DefaultMQProducer producer(String namesrv) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("failover-producer-" + System.nanoTime());
        producer.setNamesrvAddr(namesrv);
        // The test retries itself and records every attempt, so producer-side retries are off.
        producer.setRetryTimesWhenSendFailed(0);
        producer.setSendMsgTimeout(3000);
        // Routes are re-read every half second instead of every 30 s, so a new master is found quickly.
        producer.setPollNameServerInterval(500);
        producer.start();
        return producer;
    }

    /**
     * Kills the master (and the controller leader when asked), waits for the first acknowledgement of a send
     * started after the kill, restarts what was killed and waits for the set to be whole again.
     *
     * @return milliseconds from the kill to that first acknowledgement
     */
    private static long killMasterOnce(BrokerSet set, Ledger ledger, boolean controllerToo) throws Exception {
        BrokerSet.Replicas before = set.awaitSyncStateSet(BrokerSet.BROKERS, SET_FORMS);
        int master = set.brokerAddrs.indexOf(before.masterAddress);
        int acked = ledger.acks.size();
        Await.until(Duration.ofSeconds(30), () -> ledger.acks.size() > acked + 200,
                () -> "no load reached master " + before.masterAddress + ": " + ledger.failures);
        int controller = -1;
        if (controllerToo) {
            controller = set.controllerAddrs.indexOf(set.controllerLeader());
            set.controllers.get(controller).kill9();
        }
        long killed = System.nanoTime();
        set.brokers.get(master).kill9();
        Ledger.Ack[] first = new Ledger.Ack[1];
        Await.until(Duration.ofSeconds(60), () -> (first[0] = ledger.firstAckStartedAfter(killed)) != null,
                () -> "no send acknowledged after master " + before.masterAddress + " was killed: "
                        + ledger.failures + set.logs());
        long gap = (first[0].ackNanos - killed) / 1_000_000;
        assertNotEquals(before.masterAddress, first[0].storeHost, "acknowledged by the killed master");
        System.out.printf("kill of master %s%s: first write %s after %d ms%n", before.masterAddress,
                controllerToo ? " and controller leader " + set.controllerAddrs.get(controller) : "", first[0], gap);
        if (controller >= 0) {
            set.controllers.get(controller).start();
        }
        set.brokers.get(master).start();
        return gap;
    }
}
