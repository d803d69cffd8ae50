package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many topics at once: the official producer auto-creates hundreds of topics by sending to them and the official
 * admin call (UPDATE_AND_CREATE_TOPIC through the client's MQClientAPIImpl) creates more. Every topic is routable
 * and listed by the name server; the consume queue files stay sparse (RocketMQ's 6 MB queue files are not
 * reserved in full at creation, which made 2,000 topics take 12 GB); and after a graceful restart every topic is
 * still there.
 */
class ManyTopicsTest extends FerrocketTestBase {
    private static final int BY_SEND = 400;
    private static final int BY_ADMIN = 150;
    private static final int SENDERS = 8;
    /** RocketMQ's default consume queue file: 300,000 entries of 20 bytes. */
    private static final long CONSUME_QUEUE_FILE_BYTES = 6_000_000L;
    /**
     * What a sparse consume queue file holding a few entries may take on disk: its first pages plus the
     * reservation ahead of the writes, far below the 6 MB of a file reserved in full.
     */
    private static final long SPARSE_FILE_BOUND_BYTES = 256 * 1024L;

    @Test
    @Timeout(300)
    void hundredsOfTopicsAreRoutableListedSparseAndSurviveARestart() throws Exception {
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "many_topics_producer"));
        List<String> topics = new ArrayList<>();
        long t0 = System.nanoTime();
        topics.addAll(createBySend(producer));
        long t1 = System.nanoTime();
        topics.addAll(createByAdmin(producer));
        long t2 = System.nanoTime();
        System.out.printf("%d topics auto-created by send in %.2f s, %d by the admin in %.2f s%n", BY_SEND,
                (t1 - t0) / 1e9, BY_ADMIN, (t2 - t1) / 1e9);

        assertAllRoutableAndListed(producer, topics, "after creation");

        long queueFiles = consumeQueueFiles();
        long allocated = allocatedBytes(ferrocket.storeDir().resolve("consumequeue"));
        System.out.printf("consume queues: %d files, %d bytes allocated (%d bytes if reserved in full)%n",
                queueFiles, allocated, queueFiles * CONSUME_QUEUE_FILE_BYTES);
        assertTrue(queueFiles >= BY_SEND, "every topic created by a send has a consume queue file, found "
                + queueFiles + " for " + BY_SEND + " topics");
        assertTrue(allocated <= queueFiles * SPARSE_FILE_BOUND_BYTES, queueFiles + " consume queue files take "
                + allocated + " bytes on disk, more than " + SPARSE_FILE_BOUND_BYTES + " each: they are reserved "
                + "in full (" + CONSUME_QUEUE_FILE_BYTES + " bytes each) instead of staying sparse");
        producer.shutdown();

        assertEquals(0, ferrocket.stopGracefully(Duration.ofSeconds(60)), "exit code after SIGTERM");
        ferrocket.start();
        DefaultMQProducer after = start(Clients.producer(ferrocket, "many_topics_after_restart"));
        assertAllRoutableAndListed(after, topics, "after a restart");
    }

    /** Sends one message to each of BY_SEND new topics from SENDERS threads; returns the topics. */
    private List<String> createBySend(DefaultMQProducer producer) throws Exception {
        List<String> topics = new ArrayList<>();
        for (int i = 0; i < BY_SEND; i++) {
            topics.add("ManyTopicsBySend" + i);
        }
        ExecutorService pool = Executors.newFixedThreadPool(SENDERS);
        try {
            List<Future<?>> sends = new ArrayList<>();
            for (String topic : topics) {
                sends.add(pool.submit(() -> {
                    Message m = new Message(topic, "TagA", topic.getBytes(StandardCharsets.UTF_8));
                    assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus(), "send to " + topic);
                    return null;
                }));
            }
            for (Future<?> f : sends) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return topics;
    }

    /** Creates BY_ADMIN topics with the client's UPDATE_AND_CREATE_TOPIC call; returns them. */
    private List<String> createByAdmin(DefaultMQProducer producer) throws Exception {
        MQClientAPIImpl api = clientApi(producer);
        List<String> topics = new ArrayList<>();
        for (int i = 0; i < BY_ADMIN; i++) {
            TopicConfig config = new TopicConfig("ManyTopicsByAdmin" + i, 2, 2, 6);
            api.createTopic(ferrocket.brokerAddress(), "TBW102", config, 10_000);
            topics.add(config.getTopicName());
        }
        return topics;
    }

    private void assertAllRoutableAndListed(DefaultMQProducer producer, List<String> topics, String when)
            throws Exception {
        List<String> unroutable = new ArrayList<>();
        try (RawRemoting raw = new RawRemoting()) {
            for (String topic : topics) {
                if (raw.routeResponseCode(ferrocket.nameServerAddress(), topic) != RawRemoting.SUCCESS) {
                    unroutable.add(topic);
                }
            }
        }
        assertTrue(unroutable.isEmpty(), when + ": the name server has no route for " + unroutable.size() + " of "
                + topics.size() + " topics, e.g. " + unroutable.subList(0, Math.min(5, unroutable.size())));
        var listed = clientApi(producer).getTopicListFromNameServer(10_000);
        Set<String> missing = new HashSet<>(topics);
        missing.removeAll(listed.getTopicList());
        assertTrue(missing.isEmpty(), when + ": the name server's topic list lacks " + missing.size() + " of "
                + topics.size() + " topics, e.g. " + missing.stream().limit(5).collect(Collectors.toList()));
    }

    private static MQClientAPIImpl clientApi(DefaultMQProducer producer) {
        return producer.getDefaultMQProducerImpl().getmQClientFactory().getMQClientAPIImpl();
    }

    private long consumeQueueFiles() throws IOException {
        try (Stream<Path> files = Files.walk(ferrocket.storeDir().resolve("consumequeue"))) {
            return files.filter(Files::isRegularFile).count();
        }
    }

    /** The bytes the file system allocated under `dir` (`du -B1`: blocks, not apparent sizes). */
    private static long allocatedBytes(Path dir) throws Exception {
        Process du = new ProcessBuilder("du", "-s", "-B1", dir.toString()).redirectErrorStream(true).start();
        String out = new String(du.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, du.waitFor(), "du failed: " + out);
        return Long.parseLong(out.split("\\s+")[0]);
    }
}
