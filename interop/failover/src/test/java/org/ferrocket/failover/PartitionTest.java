package org.ferrocket.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.failover.support.Await;
import org.ferrocket.failover.support.CutProxy;
import org.junit.jupiter.api.Test;

/**
 * The master reaches the controllers only through {@link CutProxy} forwarders; the test cuts them (name server
 * and slaves still reach it). The controllers stop hearing the master and elect a slave; the slaves follow the
 * new master. The old master still believes it is master (nothing tells it otherwise), so what must stop it
 * is replication: with allAckInSyncStateSet a send is acknowledged only once every other member of the sync
 * state set has it, the members now copy the new master, and the old master cannot shrink its set because
 * that change must go through the controllers it cannot reach.
 *
 * <p>Apache RocketMQ 5 behaves the same way: its broker has no controller lease (a master cut off from the
 * controllers keeps its role), its master shrinks the sync state set only through
 * CONTROLLER_ALTER_SYNC_STATE_SET, and while that change is pending it still waits for the old members, so
 * writes time out (FLUSH_SLAVE_TIMEOUT) or find no slave (SLAVE_NOT_AVAILABLE) instead of being acknowledged.
 *
 * <p>The bound for the old master to stop acknowledging: the controllers notice its silence after
 * controllerHeartBeatTimeoutMills (3 s; at once when they see the heartbeat connection close), scan every
 * 0.5 s, elect and notify the slaves at once (or within syncBrokerMetadataPeriod, 1 s), the slaves reopen in
 * about a second, and a send already waiting on the old master gives up after syncFlushTimeout (5 s): 12 s.
 */
class PartitionTest {
    private static final String TOPIC = "FailoverPartition";
    private static final long STOP_BOUND_MS = 12_000;
    /** How long after the bound the old master is still watched. */
    private static final long WATCH_MS = 5_000;

    /** The forwarders close their connections: the controllers see the heartbeat connections close. */
    @Test
    void aMasterCutOffFromTheControllersStopsAcknowledging() throws Exception {
        partition("partition", true);
    }

    /** The forwarders drop every byte but close nothing: only the heartbeat timeout tells the controllers. */
    @Test
    void aMasterWhoseControllerTrafficIsDroppedStopsAcknowledging() throws Exception {
        partition("stall", false);
    }

    private void partition(String label, boolean closeConnections) throws Exception {
        try (BrokerSet set = new BrokerSet(label, true)) {
            set.brokers.get(0).start();
            Await.until(Duration.ofSeconds(60), () -> set.masterIndex() == 0, () -> "broker 0 is not master" + set.logs());
            set.brokers.get(1).start();
            set.brokers.get(2).start();
            set.awaitSyncStateSet(BrokerSet.BROKERS, Duration.ofSeconds(60));
            set.createTopic(TOPIC, 4);
            String oldMaster = set.brokerAddrs.get(0);

            Ledger ledger = new Ledger();
            DefaultMQProducer producer = KillMasterUnderLoadTest.producer(set.namesrv);
            AtomicBoolean running = new AtomicBoolean(true);
            Thread sender = new Thread(() -> ledger.sendLoop(producer, TOPIC, "p-", running), "partition-sender");
            sender.start();
            List<long[]> direct = new ArrayList<>();
            try {
                Await.until(Duration.ofSeconds(30), () -> ledger.acks.size() > 50, () -> "no load: " + ledger.failures);
                long cut = System.nanoTime();
                for (CutProxy p : set.proxies) {
                    if (closeConnections) {
                        p.cut();
                    } else {
                        p.stall();
                    }
                }
                // Sends straight to the old master's address from the cut on, as a producer with a stale route
                // would, while the controllers elect.
                long end = cut + (STOP_BOUND_MS + WATCH_MS) * 1_000_000L;
                Thread directSender = new Thread(() -> {
                    for (int i = 0; System.nanoTime() < end; i++) {
                        long[] d = sendDirect(set, ledger, oldMaster, "direct-" + i);
                        synchronized (direct) {
                            direct.add(d);
                        }
                        try {
                            Thread.sleep(200);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "direct-sender");
                directSender.start();
                Await.until(Duration.ofSeconds(30), () -> set.masterIndex() > 0,
                        () -> "no new master elected after the cut" + set.logs());
                long elected = System.nanoTime();
                String newMaster = set.replicas().masterAddress;
                directSender.join();
                long lateAcks = direct.stream()
                        .filter(d -> d[1] == 0 && (d[0] - cut) / 1_000_000 > STOP_BOUND_MS).count();
                String lastOldAck = direct.stream().filter(d -> d[1] == 0)
                        .mapToLong(d -> (d[0] - cut) / 1_000_000).max().stream()
                        .mapToObj(ms -> "started " + ms + " ms after the cut").findFirst().orElse("none");
                Ledger.Ack firstNew = ledger.acks.stream()
                        .filter(a -> a.storeHost.equals(newMaster) && a.attemptStartNanos >= cut)
                        .min((a, b) -> Long.compare(a.ackNanos, b.ackNanos)).orElse(null);
                System.out.printf("PARTITION FIGURES (" + label + "): new master %s elected %d ms after the cut; "
                                + "old master %s: %d direct sends, the last acknowledged: %s; "
                                + "%d acknowledged past the %d ms bound; first write by the new master %s%n",
                        newMaster, (elected - cut) / 1_000_000, oldMaster, direct.size(), lastOldAck, lateAcks,
                        STOP_BOUND_MS, firstNew == null ? "none" : ((firstNew.ackNanos - cut) / 1_000_000) + " ms after the cut");
                assertEquals(0, lateAcks, "the old master still acknowledged writes " + STOP_BOUND_MS
                        + " ms after it was cut off from the controllers");
                assertTrue(firstNew != null, "the new master acknowledged nothing: " + ledger.failures + set.logs());

                // Heal: the old master learns the election, returns as a slave and drops what nobody acknowledged.
                for (CutProxy p : set.proxies) {
                    p.heal();
                }
                BrokerSet.Replicas after = set.awaitSyncStateSet(BrokerSet.BROKERS, Duration.ofSeconds(60));
                assertEquals(newMaster, after.masterAddress, "the healed old master took the role back");
                assertNotEquals(oldMaster, after.masterAddress);
                Thread.sleep(500);
            } finally {
                running.set(false);
                sender.join(30_000);
                producer.shutdown();
            }
            Ledger.Stored stored = Ledger.readAll(set.namesrv, TOPIC);
            int duplicates = ledger.check(stored);
            System.out.printf("PARTITION FIGURES (" + label + "): acked=%d stored=%d failed attempts=%d %s duplicates=%d%n",
                    ledger.acks.size(), stored.messages, ledger.failedAttempts.get(), ledger.failures, duplicates);
        }
    }

    /**
     * SEND_MESSAGE straight to `addr` with the producer's WAIT=true (wait for the replicas); records an
     * acknowledgement in the ledger. Returns {start nanos, response code or -1 on failure}.
     */
    private static long[] sendDirect(BrokerSet set, Ledger ledger, String addr, String body) {
        long start = System.nanoTime();
        ledger.attempt(body);
        Map<String, String> ext = new HashMap<>();
        ext.put("producerGroup", "partition-direct");
        ext.put("topic", TOPIC);
        ext.put("defaultTopic", "TBW102");
        ext.put("defaultTopicQueueNums", "4");
        ext.put("queueId", "0");
        ext.put("sysFlag", "0");
        ext.put("bornTimestamp", String.valueOf(System.currentTimeMillis()));
        ext.put("flag", "0");
        ext.put("properties", MessageDecoder.messageProperties2String(Map.of("WAIT", "true")));
        ext.put("reconsumeTimes", "0");
        ext.put("unitMode", "false");
        ext.put("batch", "false");
        try {
            RemotingCommand r = set.invoke(addr, 10, ext, body.getBytes(StandardCharsets.UTF_8), 10_000);
            if (r.getCode() == 0) {
                Map<String, String> h = r.getExtFields();
                ledger.acks.add(new Ledger.Ack(body, Integer.parseInt(h.get("queueId")), Long.parseLong(h.get("queueOffset")),
                        h.get("msgId"), addr, start, System.nanoTime()));
            } else {
                ledger.failed("direct " + r.getCode());
            }
            return new long[] {start, r.getCode()};
        } catch (Exception e) {
            ledger.failed("direct " + e.getClass().getSimpleName());
            return new long[] {start, -1};
        }
    }
}
