package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.impl.consumer.ProcessQueue;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clustering consumption by several consumers of one group: the queues are split between them, and a consumer
 * joining while messages flow triggers a rebalance that loses nothing.
 */
class RebalanceTest extends FerrocketTestBase {
    private static final String TOPIC = "RebalanceTopic";
    private static final String GROUP = "rebalance_group";
    private static final int QUEUES = 4;
    /**
     * The old members learn about a new member from the broker's NOTIFY_CONSUMER_IDS_CHANGED; without it they
     * would only rebalance on their 20 s timer, so a shorter wait proves the notification works.
     */
    private static final Duration REBALANCE_TIMEOUT = Duration.ofSeconds(15);

    /** One consumer of the group and what it received. */
    private static final class Member {
        final String name;
        final DefaultMQPushConsumer consumer;
        final Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        final Map<String, Integer> queueOfMessage = new ConcurrentHashMap<>();

        Member(String name, DefaultMQPushConsumer consumer) {
            this.name = name;
            this.consumer = consumer;
        }

        MessageListenerConcurrently listener() {
            return (messages, context) -> {
                for (MessageExt m : messages) {
                    received.add(m);
                    queueOfMessage.put(new String(m.getBody(), StandardCharsets.UTF_8), m.getQueueId());
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            };
        }

        /** Queues this member currently holds (process queues that are not dropped). */
        Set<Integer> assignedQueues() {
            Set<Integer> queues = new TreeSet<>();
            for (Map.Entry<MessageQueue, ProcessQueue> e : consumer.getDefaultMQPushConsumerImpl()
                    .getRebalanceImpl().getProcessQueueTable().entrySet()) {
                if (TOPIC.equals(e.getKey().getTopic()) && !e.getValue().isDropped()) {
                    queues.add(e.getKey().getQueueId());
                }
            }
            return queues;
        }

        @Override
        public String toString() {
            return name + assignedQueues();
        }
    }

    @Test
    @Timeout(180)
    void consumersSplitQueuesAndRebalanceLosesNothing() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "rebalance_producer"));
        List<String> all = Collections.synchronizedList(new ArrayList<>());

        // Phase "before": creates the topic (4 queues) and leaves messages for the group to catch up on.
        send(producer, "before", 100, all);
        awaitRoute(ferrocket, TOPIC);

        Member first = member("c1");
        Member second = member("c2");
        List<Member> members = List.of(first, second);
        awaitBalanced(members);

        // Phase "split": with two stable members, each message goes to exactly the owner of its queue.
        List<String> split = send(producer, "split", 200, all);
        Await.until(Duration.ofSeconds(60), () -> union(members).containsAll(split),
                () -> "split phase: " + describe(members, split));
        Set<Integer> firstQueues = queuesReceived(first, split);
        Set<Integer> secondQueues = queuesReceived(second, split);
        assertFalse(firstQueues.isEmpty(), "c1 received nothing while holding " + first);
        assertFalse(secondQueues.isEmpty(), "c2 received nothing while holding " + second);
        Set<Integer> overlap = new HashSet<>(firstQueues);
        overlap.retainAll(secondQueues);
        assertTrue(overlap.isEmpty(), "both consumers received from queues " + overlap + " (c1 " + firstQueues
                + ", c2 " + secondQueues + ")");
        Set<String> both = new HashSet<>(received(first, split));
        both.retainAll(received(second, split));
        assertTrue(both.isEmpty(), "messages delivered to both consumers: " + both);

        // Phase "during": a third member joins while a producer keeps sending.
        AtomicReference<Throwable> senderFailure = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < 300; i++) {
                    send(producer, "during", i, 1, all);
                    Thread.sleep(5);
                }
            } catch (Throwable t) {
                senderFailure.set(t);
            }
        }, "rebalance-sender");
        sender.start();
        Thread.sleep(300);
        Member third = member("c3");
        List<Member> three = List.of(first, second, third);
        sender.join(60_000);
        assertFalse(sender.isAlive(), "sender thread hung");
        if (senderFailure.get() != null) {
            throw new AssertionError("send failed during rebalance", senderFailure.get());
        }
        awaitBalanced(three);

        // Phase "after": the new split serves the third member too.
        List<String> after = send(producer, "after", 100, all);
        Await.until(Duration.ofSeconds(60), () -> union(three).containsAll(all),
                () -> "all phases: " + describe(three, all));
        assertFalse(received(third, after).isEmpty(), "c3 received nothing after joining; " + describe(three, after));

        int duplicates = three.stream().mapToInt(m -> m.received.duplicates()).sum();
        Set<String> seen = new HashSet<>();
        for (Member m : three) {
            for (String key : m.received.keys()) {
                if (!seen.add(key)) {
                    duplicates++;
                }
            }
        }
        // At-least-once: redelivery across a rebalance is allowed, so duplicates are reported, not failed.
        System.out.println("rebalance: " + all.size() + " messages, " + duplicates + " duplicate deliveries; "
                + three);
    }

    private Member member(String name) throws Exception {
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, GROUP);
        consumer.subscribe(TOPIC, "*");
        Member member = new Member(name, consumer);
        consumer.registerMessageListener(member.listener());
        start(consumer);
        return member;
    }

    /** Waits until every queue has exactly one owner and every member owns at least one queue. */
    private static void awaitBalanced(List<Member> members) throws InterruptedException {
        Await.stable(REBALANCE_TIMEOUT, Duration.ofMillis(800), () -> {
            Set<Integer> union = new HashSet<>();
            int total = 0;
            for (Member m : members) {
                Set<Integer> queues = m.assignedQueues();
                if (queues.isEmpty()) {
                    return false;
                }
                union.addAll(queues);
                total += queues.size();
            }
            return union.size() == QUEUES && total == QUEUES;
        }, () -> "queues not split between " + members.size() + " consumers: " + members
                + " (the broker must send NOTIFY_CONSUMER_IDS_CHANGED and answer GET_CONSUMER_LIST_BY_GROUP"
                + " with every member)");
    }

    private static List<String> send(DefaultMQProducer producer, String phase, int count, List<String> all)
            throws Exception {
        return send(producer, phase, 0, count, all);
    }

    private static List<String> send(DefaultMQProducer producer, String phase, int from, int count,
                                     List<String> all) throws Exception {
        List<String> sent = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String text = phase + "-" + i;
            SendResult result = producer.send(new Message(TOPIC, "TagA", text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            sent.add(text);
            all.add(text);
        }
        return sent;
    }

    private static Set<String> union(List<Member> members) {
        Set<String> union = new HashSet<>();
        members.forEach(m -> union.addAll(m.received.keys()));
        return union;
    }

    private static Set<Integer> queuesReceived(Member member, List<String> messages) {
        Set<Integer> queues = new TreeSet<>();
        for (String text : messages) {
            Integer queue = member.queueOfMessage.get(text);
            if (queue != null) {
                queues.add(queue);
            }
        }
        return queues;
    }

    private static List<String> received(Member member, List<String> messages) {
        List<String> got = new ArrayList<>();
        for (String text : messages) {
            if (member.received.keys().contains(text)) {
                got.add(text);
            }
        }
        return got;
    }

    private static String describe(List<Member> members, List<String> expected) {
        Set<String> missing = new LinkedHashSet<>(expected);
        missing.removeAll(union(members));
        List<String> sample = new ArrayList<>(missing);
        return "missing " + missing.size() + " of " + expected.size() + " "
                + sample.subList(0, Math.min(10, sample.size())) + "; members " + members;
    }
}
