package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Message queries as the official client issues them: {@code viewMessage} by offset message id (VIEW_MESSAGE_BY_ID),
 * {@code queryMessage} by key and time range (QUERY_MESSAGE over index files) and {@code viewMessage} by unique key
 * (QUERY_MESSAGE with {@code _UNIQUE_KEY_QUERY}), while running, after a clean restart and after kill -9. Index files
 * are kept small so that the keys spread over several of them.
 */
class QueryMessageTest extends FerrocketTestBase {
    private static final String TOPIC = "QueryMessageTopic";
    private static final int PER_BATCH = 30;
    private static final Duration INDEXED = Duration.ofSeconds(60);

    @Override
    protected BrokerConf brokerConf() {
        // 3 index entries per message (UNIQ_KEY, order key, group key): 49 entries fill a file
        return BrokerConf.defaults().set("maxHashSlotNum", "64").set("maxIndexNum", "50");
    }

    /** One sent message: its body, keys and the ids the producer got back. */
    private static final class Sent {
        final int n;
        final SendResult result;

        Sent(int n, SendResult result) {
            this.n = n;
            this.result = result;
        }

        String body() {
            return body(n);
        }

        static String body(int n) {
            return "query-body-" + n;
        }
    }

    @Test
    @Timeout(300)
    void queriesByOffsetIdKeyAndUniqueKeySurviveRestartAndKill() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "query_producer"));
        List<Sent> sent = new ArrayList<>(send(producer, 0));
        // index times have a resolution of one second: leave a gap around the middle mark
        Thread.sleep(2_000);
        long middle = System.currentTimeMillis();
        Thread.sleep(2_000);
        sent.addAll(send(producer, PER_BATCH));
        producer.shutdown();

        verify(sent, middle, "running");
        assertTrue(indexFiles() >= 2, "keys spread over several index files, found " + indexFiles());

        assertEquals(0, ferrocket.stopGracefully(Duration.ofSeconds(30)), "exit code after SIGTERM");
        ferrocket.start();
        verify(sent, middle, "after a clean restart");

        ferrocket.destroyForcibly();
        ferrocket.start();
        verify(sent, middle, "after kill -9");

        // the index goes on after recovery
        DefaultMQProducer after = start(Clients.producer(ferrocket, "query_producer_after"));
        sent.addAll(send(after, 2 * PER_BATCH));
        verify(sent, middle, "new messages after kill -9");
    }

    private void verify(List<Sent> sent, long middle, String phase) throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, Clients.uniqueInstanceName("query_reader")));

        // by key: every message of group-1, over all index files
        Set<String> group1 = bodies(sent.stream().filter(s -> s.n % 3 == 1));
        assertEquals(group1, awaitQuery(producer, "group-1", 0, Long.MAX_VALUE, group1.size(), phase),
                phase + ": queryMessage(group-1)");

        // by key and time range: only the batch on that side of the middle mark
        Set<String> early = bodies(sent.stream().filter(s -> s.n < PER_BATCH && s.n % 3 == 2));
        assertEquals(early, queryBodies(producer, "group-2", 0, middle), phase + ": before the middle mark");
        Set<String> late = bodies(sent.stream().filter(s -> s.n >= PER_BATCH && s.n % 3 == 2));
        assertEquals(late, queryBodies(producer, "group-2", middle, Long.MAX_VALUE), phase + ": after the middle mark");

        // a single order key, in the newest index files and in the oldest
        for (int n : new int[] {0, 17, sent.size() - 1}) {
            assertEquals(bodies(Stream.of(sent.get(n))), queryBodies(producer, "order-" + n, 0, Long.MAX_VALUE),
                    phase + ": queryMessage(order-" + n + ")");
        }
        MQClientException none = assertThrows(MQClientException.class,
                () -> producer.queryMessage(TOPIC, "no-such-key", 32, 0, Long.MAX_VALUE), phase);
        assertTrue(none.getMessage().contains("no message"), phase + ": " + none.getMessage());

        for (int n : new int[] {3, 29, sent.size() - 2}) {
            Sent s = sent.get(n);
            // offset message id: VIEW_MESSAGE_BY_ID
            MessageExt byOffset = producer.viewMessage(TOPIC, s.result.getOffsetMsgId());
            assertNotNull(byOffset, phase + ": viewMessage(offsetMsgId) of " + n);
            assertEquals(s.body(), new String(byOffset.getBody(), StandardCharsets.UTF_8), phase);
            // the client decodes it as MessageClientExt, whose msgId is the unique key
            assertEquals(s.result.getMsgId(), byOffset.getMsgId(), phase);
            assertEquals("order-" + n + " group-" + (n % 3), byOffset.getKeys(), phase);

            // unique key (the msgId SendResult reports): QUERY_MESSAGE with _UNIQUE_KEY_QUERY
            MessageExt byUniqKey = producer.viewMessage(TOPIC, s.result.getMsgId());
            assertNotNull(byUniqKey, phase + ": viewMessage(uniqKey) of " + n);
            assertEquals(s.body(), new String(byUniqKey.getBody(), StandardCharsets.UTF_8), phase);
            assertEquals(s.result.getMsgId(), byUniqKey.getMsgId(), phase);
        }
        producer.shutdown();
    }

    private static List<Sent> send(DefaultMQProducer producer, int from) throws Exception {
        List<Sent> out = new ArrayList<>();
        for (int n = from; n < from + PER_BATCH; n++) {
            Message m = new Message(TOPIC, "TagQ", Sent.body(n).getBytes(StandardCharsets.UTF_8));
            m.setKeys(List.of("order-" + n, "group-" + (n % 3)));
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());
            out.add(new Sent(n, r));
        }
        return out;
    }

    /** Queries until the index has caught up with {@code expected} messages (it is built in the background). */
    private Set<String> awaitQuery(DefaultMQProducer producer, String key, long begin, long end, int expected,
                                   String phase) throws Exception {
        @SuppressWarnings("unchecked")
        Set<String>[] last = new Set[] {new TreeSet<String>()};
        Await.until(INDEXED, () -> {
            try {
                last[0] = queryBodies(producer, key, begin, end);
            } catch (Exception e) {
                last[0] = new TreeSet<>();
            }
            return last[0].size() >= expected;
        }, () -> phase + ": queryMessage(" + key + ") found " + last[0]);
        return last[0];
    }

    private static Set<String> queryBodies(DefaultMQProducer producer, String key, long begin, long end)
            throws Exception {
        QueryResult r = producer.queryMessage(TOPIC, key, 64, begin, end);
        return r.getMessageList().stream()
                .map(m -> new String(m.getBody(), StandardCharsets.UTF_8))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<String> bodies(Stream<Sent> sent) {
        return sent.map(Sent::body).collect(Collectors.toCollection(TreeSet::new));
    }

    private long indexFiles() throws IOException {
        Path dir = Paths.get(ferrocket.conf().get("storePathRootDir"), "index");
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }
}
