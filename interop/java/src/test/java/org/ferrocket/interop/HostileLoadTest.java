package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Idle sockets that would exhaust the broker's open-file limit: the broker reaps them after
 * serverChannelMaxIdleTimeSeconds (3 s here), so a new official client gets through, and the accept errors
 * of the burst are logged once.
 */
class HostileLoadTest extends FerrocketTestBase {
    private static final String TOPIC = "HostileLoadTopic";

    @Override
    protected BrokerConf brokerConf() {
        // registrations every second keep the broker's connection to the name server busy, as the default
        // 30 s period does under the default 120 s idle timeout
        return BrokerConf.defaults()
                .set("serverChannelMaxIdleTimeSeconds", "3")
                .set("registerNameServerPeriod", "1000");
    }

    private static int openFds(long pid) throws IOException {
        try (var fds = Files.list(java.nio.file.Paths.get("/proc/" + pid + "/fd"))) {
            return (int) fds.count();
        }
    }

    private static void limitOpenFiles(long pid, int limit) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", String.valueOf(pid), "--nofile=" + limit + ":" + limit)
                .inheritIO()
                .start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "prlimit failed");
    }

    @Test
    @Timeout(180)
    void idleSocketsAreReapedAndANewProducerGetsThrough() throws Exception {
        long pid = ferrocket.pid();
        limitOpenFiles(pid, openFds(pid) + 100);
        List<Socket> idle = new ArrayList<>();
        try {
            // more idle connections than free descriptors; once the listen backlog is full too, further
            // connects time out and are not needed
            for (int i = 0; i < 250; i++) {
                Socket s = new Socket();
                try {
                    s.connect(new InetSocketAddress("127.0.0.1", ferrocket.brokerPort()), 1000);
                } catch (SocketTimeoutException e) {
                    s.close();
                    break;
                }
                idle.add(s);
            }
            assertTrue(idle.size() > 100, "only " + idle.size() + " connections opened");
            Await.until(Duration.ofSeconds(10), () -> ferrocket.tail(2000).contains("accept failed"),
                    () -> "the broker never ran out of descriptors\n" + ferrocket.tail(50));

            DefaultMQProducer producer = Clients.producer(ferrocket, "hostile_load_producer");
            producer.setSendMsgTimeout(10_000);
            start(producer);
            // the 4.9 client reports a name-server timeout at once (the 5.x client retries by itself); an
            // application retries, and so does this test, until the reaped descriptors let it through
            SendResult result = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (result == null) {
                try {
                    result = producer.send(new Message(TOPIC, "TagA",
                            "after the idle flood".getBytes(StandardCharsets.UTF_8)));
                } catch (Exception e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("no send got through within 30 s", e);
                    }
                    Thread.sleep(500);
                }
            }
            assertEquals(SendStatus.SEND_OK, result.getSendStatus(), result.toString());
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        String log = ferrocket.tail(5000);
        assertTrue(log.contains("closing an idle connection"), log);
        assertTrue(log.contains("accepting connections again after a burst of accept errors"), log);
        long failedLines = log.lines().filter(l -> l.contains("accept failed")).count();
        long recoveredLines = log.lines().filter(l -> l.contains("accepting connections again")).count();
        assertTrue(failedLines <= recoveredLines + 1, "one accept-error line per burst:\n" + log);
    }
}
