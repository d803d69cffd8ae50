package org.ferrocket.interop.support;

import java.time.Duration;
import java.util.Collections;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Gives each test class its own ferrocket (own ports, own store), shuts down every client a test started, and
 * appends the tail of the ferrocket output to any test failure.
 *
 * <p>A ferrocket that cannot start (for example a missing binary) fails every test of the class with the
 * reason; nothing is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class FerrocketTestBase {
    /** Appends the ferrocket output to test failures. */
    @RegisterExtension
    final TestExecutionExceptionHandler attachFerrocketOutput = new AttachOutput();

    /** The ferrocket of this class; null when it failed to start. */
    protected FerrocketProcess ferrocket;

    private Throwable startFailure;
    private final Deque<AutoCloseable> cleanups = new ConcurrentLinkedDeque<>();

    /** The broker configuration of this class; override to change keys. */
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults();
    }

    /** Extra environment variables for the ferrocket process of this class; override to inject faults. */
    protected Map<String, String> environment() {
        return Collections.emptyMap();
    }

    @BeforeAll
    final void startFerrocket() {
        try {
            ferrocket = FerrocketProcess.start(getClass().getSimpleName(), brokerConf(), environment());
        } catch (Throwable t) {
            startFailure = t;
        }
    }

    @BeforeEach
    final void requireFerrocket() {
        if (startFailure != null) {
            throw new AssertionError(startFailure.getMessage(), startFailure);
        }
    }

    @AfterEach
    final void shutdownClients() {
        AutoCloseable next;
        while ((next = cleanups.pollFirst()) != null) {
            try {
                next.close();
            } catch (Exception e) {
                System.err.println("client shutdown failed: " + e);
            }
        }
    }

    @AfterAll
    final void stopFerrocket() throws InterruptedException {
        if (ferrocket != null) {
            ferrocket.close();
        }
    }

    /** Registers something to close after the current test (last registered closes first). */
    protected <T extends AutoCloseable> T closeAfterTest(T resource) {
        cleanups.addFirst(resource);
        return resource;
    }

    /** Starts the producer and shuts it down after the test. */
    protected DefaultMQProducer start(DefaultMQProducer producer) throws MQClientException {
        producer.start();
        cleanups.addFirst(producer::shutdown);
        return producer;
    }

    /** Starts the push consumer and shuts it down after the test (shutting it down twice is harmless). */
    protected DefaultMQPushConsumer start(DefaultMQPushConsumer consumer) throws MQClientException {
        consumer.start();
        cleanups.addFirst(consumer::shutdown);
        return consumer;
    }

    /** Starts the lite pull consumer and shuts it down after the test. */
    protected DefaultLitePullConsumer start(DefaultLitePullConsumer consumer) throws MQClientException {
        consumer.start();
        cleanups.addFirst(consumer::shutdown);
        return consumer;
    }

    /**
     * Waits until the name server returns a route for the topic. The broker registers a topic it auto-created
     * with the name server right away; consumers started before that would not see the topic for 30 s.
     */
    protected void awaitRoute(FerrocketProcess server, String topic) throws Exception {
        try (RawRemoting raw = new RawRemoting()) {
            int[] last = {-1};
            Await.until(Duration.ofSeconds(10), () -> {
                try {
                    last[0] = raw.routeResponseCode(server.nameServerAddress(), topic);
                } catch (Exception e) {
                    last[0] = -2;
                }
                return last[0] == RawRemoting.SUCCESS;
            }, () -> "name server " + server.nameServerAddress() + " has no route for topic " + topic
                    + " (GET_ROUTEINFO_BY_TOPIC answered code " + last[0] + ")");
        }
    }

    private static final class AttachOutput implements TestExecutionExceptionHandler {
        @Override
        public void handleTestExecutionException(ExtensionContext context, Throwable thrown) throws Throwable {
            Object instance = context.getTestInstance().orElse(null);
            if (!(instance instanceof FerrocketTestBase)) {
                throw thrown;
            }
            FerrocketProcess process = ((FerrocketTestBase) instance).ferrocket;
            if (process == null) {
                throw thrown;
            }
            AssertionError withOutput = new AssertionError(thrown + process.describe(), thrown);
            throw withOutput;
        }
    }
}
