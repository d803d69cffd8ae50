package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.Received;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tag subscriptions ("TagA || TagC"): only matching messages reach the consumer, and the broker filters. */
class TagFilterTest extends FerrocketTestBase {
    private static final String TOPIC = "TagFilterTopic";
    private static final String EXPRESSION = "TagA || TagC";
    private static final Set<String> WANTED = Set.of("TagA", "TagC");
    private static final String[] TAGS = {"TagA", "TagB", "TagC", "TagD", null};
    private static final int COUNT = 250;
    /** RequestCode.PULL_MESSAGE and LITE_PULL_MESSAGE. */
    private static final Set<Integer> PULL_CODES = Set.of(11, 361);

    private boolean sent;

    @Test
    @Timeout(180)
    void subscriptionReceivesOnlyMatchingTags() throws Exception {
        List<String> wanted = sendMixedTags();

        Received received = new Received(m -> new String(m.getBody(), StandardCharsets.UTF_8));
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "tag_filter_push");
        consumer.subscribe(TOPIC, EXPRESSION);
        consumer.registerMessageListener(received.listener());
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> received.containsAll(wanted),
                () -> "subscription " + EXPRESSION + ": " + received.summary(wanted));
        // Give any wrongly delivered message time to show up.
        Await.quietPeriod(Duration.ofSeconds(2));

        List<String> unwanted = new ArrayList<>();
        for (String key : received.keys()) {
            String tag = received.deliveries(key).get(0).getTags();
            if (tag == null || !WANTED.contains(tag)) {
                unwanted.add(key + " (tag " + tag + ")");
            }
        }
        assertTrue(unwanted.isEmpty(), "subscription " + EXPRESSION + " delivered " + unwanted.size()
                + " other messages: " + unwanted.subList(0, Math.min(10, unwanted.size())));
        assertEquals(new HashSet<>(wanted), received.keys());
    }

    /**
     * The Java client drops non-matching tags on its own after each pull, so only the raw pull responses show
     * whether the broker filtered by tag hash code in the consume queue, as RocketMQ brokers do.
     */
    @Test
    @Timeout(180)
    void brokerFiltersPullResponsesByTag() throws Exception {
        List<String> wanted = sendMixedTags();

        Map<String, AtomicInteger> tagsInPullBodies = new ConcurrentHashMap<>();
        AtomicInteger pullResponsesWithMessages = new AtomicInteger();
        RPCHook pullInspector = new RPCHook() {
            @Override
            public void doBeforeRequest(String remoteAddr, RemotingCommand request) {
            }

            @Override
            public void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
                if (response == null || !PULL_CODES.contains(request.getCode()) || response.getCode() != 0
                        || response.getBody() == null) {
                    return;
                }
                pullResponsesWithMessages.incrementAndGet();
                for (MessageExt m : MessageDecoder.decodes(ByteBuffer.wrap(response.getBody()))) {
                    String tag = m.getTags() == null ? "(none)" : m.getTags();
                    tagsInPullBodies.computeIfAbsent(tag, t -> new AtomicInteger()).incrementAndGet();
                }
            }
        };
        DefaultLitePullConsumer lite = Clients.litePullConsumer(ferrocket, "tag_filter_lite", pullInspector);
        lite.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        lite.subscribe(TOPIC, EXPRESSION);
        start(lite);

        Set<String> polled = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!polled.containsAll(wanted) && System.nanoTime() < deadline) {
            for (MessageExt m : lite.poll(500)) {
                polled.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
        }
        assertTrue(polled.containsAll(wanted), "lite pull with " + EXPRESSION + " got " + polled.size() + " of "
                + wanted.size() + " matching messages");
        assertTrue(pullResponsesWithMessages.get() > 0, "no pull response was observed by the RPC hook");
        Map<String, Integer> seen = new TreeMap<>();
        tagsInPullBodies.forEach((tag, n) -> seen.put(tag, n.get()));
        assertEquals(WANTED, seen.keySet(),
                "tags the broker returned in PULL_MESSAGE bodies for " + EXPRESSION + ": " + seen);
    }

    /** Sends COUNT messages cycling through TagA..TagD and no tag; returns the bodies that match. */
    private List<String> sendMixedTags() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "tag_filter_producer"));
        List<String> wanted = new ArrayList<>();
        // Both tests of this class (run one after the other) read the same topic; the first one fills it.
        if (!sent) {
            for (int i = 0; i < COUNT; i++) {
                String tag = TAGS[i % TAGS.length];
                String text = "msg-" + i + "-" + tag;
                Message message = tag == null ? new Message(TOPIC, text.getBytes(StandardCharsets.UTF_8))
                        : new Message(TOPIC, tag, text.getBytes(StandardCharsets.UTF_8));
                SendResult result = producer.send(message);
                assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
            }
            sent = true;
        }
        for (int i = 0; i < COUNT; i++) {
            String tag = TAGS[i % TAGS.length];
            if (tag != null && WANTED.contains(tag)) {
                wanted.add("msg-" + i + "-" + tag);
            }
        }
        awaitRoute(ferrocket, TOPIC);
        return wanted;
    }
}
