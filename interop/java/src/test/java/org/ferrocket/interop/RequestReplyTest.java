package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.RequestTimeoutException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Request-reply (RocketMQ 4.6+): {@code producer.request} sends to a topic; the consumer answers with
 * {@code MessageUtil.createReplyMessage}, sent as SEND_REPLY_MESSAGE(_V2); the broker pushes the reply to the
 * requester's connection (PUSH_REPLY_MESSAGE_TO_CLIENT).
 */
class RequestReplyTest extends FerrocketTestBase {
    /** SYSTEM_ERROR, the answer to a reply whose requester is gone. */
    private static final int SYSTEM_ERROR = 1;

    /** How long the replier waits before answering, ms (set by the late-reply test). */
    private final AtomicLong replyDelayMs = new AtomicLong();
    /** Replies the replier has sent (accepted by the broker). */
    private final AtomicInteger repliesSent = new AtomicInteger();

    private DefaultMQProducer replier(String topic) throws Exception {
        DefaultMQProducer replyProducer = Clients.producer(ferrocket, "rr_reply_producer_" + topic);
        replyProducer.setRetryTimesWhenSendFailed(0);
        start(replyProducer);
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "rr_replier_" + topic);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt request : msgs) {
                if ("no-reply".equals(request.getTags())) {
                    continue;
                }
                try {
                    Thread.sleep(replyDelayMs.get());
                    String body = "reply:" + new String(request.getBody(), StandardCharsets.UTF_8);
                    Message reply = MessageUtil.createReplyMessage(request, body.getBytes(StandardCharsets.UTF_8));
                    replyProducer.send(reply);
                    repliesSent.incrementAndGet();
                } catch (Exception e) {
                    System.err.println("replying failed: " + e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        start(consumer);
        return replyProducer;
    }

    /**
     * A started requester that has sent one message to {@code topic} and a heartbeat to the broker: the broker
     * finds a requester's connection by its heartbeat, which the client sends every 30 s and once it knows a
     * broker (so also with Apache a reply to a requester that never heartbeated has nowhere to go).
     */
    private DefaultMQProducer requester(String label, String topic) throws Exception {
        DefaultMQProducer requester = start(Clients.producer(ferrocket, "rr_requester_" + label));
        requester.send(new Message(topic, "no-reply", "warm-up".getBytes(StandardCharsets.UTF_8)));
        // 5.x throws when a heartbeat times out (a loaded machine); try again rather than fail on it
        for (int attempt = 1; ; attempt++) {
            try {
                requester.getDefaultMQProducerImpl().getMqClientFactory().sendHeartbeatToAllBrokerWithLock();
                break;
            } catch (IllegalStateException e) {
                if (attempt == 3) {
                    throw e;
                }
            }
        }
        awaitRoute(ferrocket, topic);
        return requester;
    }

    private static String text(Message m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    @Test
    @Timeout(120)
    void syncAndAsyncRequestsGetTheirReplies() throws Exception {
        String topic = "RequestReplyTopic";
        DefaultMQProducer requester = requester("sync", topic);
        replier(topic);

        for (int i = 0; i < 5; i++) {
            Message reply = requester.request(new Message(topic, ("ping-" + i).getBytes(StandardCharsets.UTF_8)),
                    30_000);
            assertEquals("reply:ping-" + i, text(reply));
            assertTrue(reply.getTopic().endsWith("_REPLY_TOPIC"), reply.getTopic());
        }

        CompletableFuture<Message> async = new CompletableFuture<>();
        requester.request(new Message(topic, "async".getBytes(StandardCharsets.UTF_8)), new RequestCallback() {
            @Override
            public void onSuccess(Message message) {
                // the client also calls onSuccess(null) once the request itself is sent; the reply follows
                if (message != null) {
                    async.complete(message);
                }
            }

            @Override
            public void onException(Throwable e) {
                async.completeExceptionally(e);
            }
        }, 30_000);
        assertEquals("reply:async", text(async.get(40, TimeUnit.SECONDS)));
    }

    @Test
    @Timeout(60)
    void aReplyToARequesterThatHasGoneAwayIsRefused() throws Exception {
        String topic = "RequestReplyGone";
        DefaultMQProducer gone = requester("gone", topic);
        String goneClientId = gone.buildMQClientId();
        gone.shutdown();
        // a request whose sender has since shut down: its reply has nowhere to go
        Message request = new Message(topic, "orphan".getBytes(StandardCharsets.UTF_8));
        DefaultMQProducer replyProducer = Clients.producer(ferrocket, "rr_reply_gone");
        replyProducer.setRetryTimesWhenSendFailed(0);
        start(replyProducer);

        MessageExt stored = new MessageExt();
        stored.setTopic(topic);
        stored.setBody(request.getBody());
        MessageAccessor.putProperty(stored, "CLUSTER", ferrocket.conf().get("brokerClusterName"));
        MessageAccessor.putProperty(stored, "REPLY_TO_CLIENT", goneClientId);
        MessageAccessor.putProperty(stored, "CORRELATION_ID", "gone-1");
        MessageAccessor.putProperty(stored, "TTL", "3000");
        Message reply = MessageUtil.createReplyMessage(stored, "late".getBytes(StandardCharsets.UTF_8));
        Exception thrown = assertThrows(Exception.class, () -> replyProducer.send(reply));
        Throwable cause = thrown;
        while (cause != null && !(cause instanceof MQBrokerException)) {
            cause = cause.getCause();
        }
        assertTrue(cause != null, "the broker's refusal is the cause: " + thrown);
        MQBrokerException refused = (MQBrokerException) cause;
        assertEquals(SYSTEM_ERROR, refused.getResponseCode(), refused.toString());
        assertTrue(refused.getErrorMessage().contains(goneClientId), refused.getErrorMessage());
    }

    @Test
    @Timeout(120)
    void aReplyAfterTheTimeoutIsDroppedAndTheRequesterCarriesOn() throws Exception {
        String topic = "RequestReplyLate";
        DefaultMQProducer requester = requester("late", topic);
        replier(topic);

        // make sure the replier is consuming before timing anything
        assertEquals("reply:first", text(requester.request(
                new Message(topic, "first".getBytes(StandardCharsets.UTF_8)), 30_000)));
        replyDelayMs.set(3_000);
        assertThrows(RequestTimeoutException.class, () -> requester.request(
                new Message(topic, "slow".getBytes(StandardCharsets.UTF_8)), 1_000));
        // the late reply reaches the requester after it gave up (the broker still pushes it: the requester
        // is connected); the next request still gets its own reply
        Await.until(Duration.ofSeconds(30), () -> repliesSent.get() >= 2, () -> "the late reply was not sent");
        replyDelayMs.set(0);
        assertEquals("reply:again", text(requester.request(
                new Message(topic, "again".getBytes(StandardCharsets.UTF_8)), 30_000)));
    }
}
