package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketProcess;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Invalid sends through the official client: what is refused, by whom, and with which error. */
class BadInputTest extends FerrocketTestBase {
    private static final int MAX_MESSAGE_SIZE = 1024;
    /** RequestCode.SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE. */
    private static final List<Integer> SEND_CODES = List.of(10, 310, 320);

    @Override
    protected BrokerConf brokerConf() {
        return BrokerConf.defaults().set("maxMessageSize", String.valueOf(MAX_MESSAGE_SIZE));
    }

    @Test
    @Timeout(60)
    void bodyOverMaxMessageSizeIsRefusedByTheBrokerWithMessageIllegal() throws Exception {
        DefaultMQProducer producer = Clients.producer(ferrocket, "oversize_producer");
        // Keep the 2 KiB body uncompressed and let the broker (not the client) judge its size.
        producer.setCompressMsgBodyOverHowmuch(1024 * 1024);
        producer.setMaxMessageSize(4 * 1024 * 1024);
        producer.setRetryTimesWhenSendFailed(0);
        start(producer);
        String topic = "OversizeTopic";

        // Every send goes to queue 0, so queue offsets show whether the refused message took a slot.
        MessageQueueSelector queueZero = (queues, message, arg) -> queues.get(0);

        SendResult small = producer.send(new Message(topic, "TagA", filled(MAX_MESSAGE_SIZE / 2)), queueZero, null);
        assertEquals(SendStatus.SEND_OK, small.getSendStatus(), "a body below maxMessageSize is stored: " + small);

        MQBrokerException refused = assertThrows(MQBrokerException.class,
                () -> producer.send(new Message(topic, "TagA", filled(2 * MAX_MESSAGE_SIZE)), queueZero, null),
                "a 2048-byte body with maxMessageSize=" + MAX_MESSAGE_SIZE + " must be refused by the broker");
        assertEquals(RawRemoting.MESSAGE_ILLEGAL, refused.getResponseCode(),
                "response code must be 13 MESSAGE_ILLEGAL: " + refused);

        SendResult afterwards = producer.send(new Message(topic, "TagA", filled(16)), queueZero, null);
        assertEquals(SendStatus.SEND_OK, afterwards.getSendStatus(), "the broker keeps serving after a refusal");
        assertEquals(small.getMessageQueue(), afterwards.getMessageQueue());
        assertEquals(small.getQueueOffset() + 1, afterwards.getQueueOffset(),
                "the refused message must not take a queue offset");
    }

    @Test
    @Timeout(60)
    void illegalTopicNamesAreRefusedByTheClientBeforeAnyRequest() throws Exception {
        List<Integer> sendRequests = new CopyOnWriteArrayList<>();
        RPCHook recorder = new RPCHook() {
            @Override
            public void doBeforeRequest(String remoteAddr, RemotingCommand request) {
                if (SEND_CODES.contains(request.getCode())) {
                    sendRequests.add(request.getCode());
                }
            }

            @Override
            public void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
            }
        };
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "illegal_topic_producer", recorder));

        Map<String, String> refusals = new LinkedHashMap<>();
        refusals.put("bad topic!", "contains illegal characters");
        refusals.put("a/b", "contains illegal characters");
        refusals.put("topic.with.dots", "contains illegal characters");
        refusals.put("x".repeat(128), "longer than topic max length");
        refusals.put(" ", "is blank");
        // System topics the broker writes itself; clients may not send to them.
        refusals.put("SCHEDULE_TOPIC_XXXX", "is forbidden");
        for (Map.Entry<String, String> refusal : refusals.entrySet()) {
            MQClientException e = assertThrows(MQClientException.class,
                    () -> producer.send(new Message(refusal.getKey(), "TagA", filled(8))),
                    "topic [" + refusal.getKey() + "] must be refused");
            assertTrue(e.getMessage().contains(refusal.getValue()),
                    "topic [" + refusal.getKey() + "]: expected '" + refusal.getValue() + "' in: " + e.getMessage());
        }
        assertTrue(sendRequests.isEmpty(), "the client refuses these topics itself, yet it sent requests "
                + sendRequests);
    }

    @Test
    @Timeout(60)
    void illegalTopicNamesAreRefusedByTheBrokerToo() throws Exception {
        try (RawRemoting raw = new RawRemoting()) {
            for (String topic : Arrays.asList("bad topic!", "a/b", "x".repeat(128))) {
                Map<String, String> header = new LinkedHashMap<>();
                header.put("producerGroup", "raw_producer");
                header.put("topic", topic);
                header.put("defaultTopic", "TBW102");
                header.put("defaultTopicQueueNums", "4");
                header.put("queueId", "0");
                header.put("sysFlag", "0");
                header.put("bornTimestamp", String.valueOf(System.currentTimeMillis()));
                header.put("flag", "0");
                header.put("properties", "");
                header.put("reconsumeTimes", "0");
                header.put("unitMode", "false");
                header.put("batch", "false");
                RemotingCommand response = raw.invoke(ferrocket.brokerAddress(), RawRemoting.SEND_MESSAGE, header,
                        "raw".getBytes(StandardCharsets.UTF_8));
                // Apache RocketMQ answers SYSTEM_ERROR (4.9.x) or INVALID_PARAMETER (5.x) for an invalid name.
                assertTrue(response.getCode() == RawRemoting.SYSTEM_ERROR
                                || response.getCode() == RawRemoting.INVALID_PARAMETER,
                        "SEND_MESSAGE to topic [" + topic + "] answered code " + response.getCode() + " remark "
                                + response.getRemark() + "; expected 1 SYSTEM_ERROR or 29 INVALID_PARAMETER");
                assertNotEquals(RawRemoting.SUCCESS, raw.routeResponseCode(ferrocket.nameServerAddress(), topic),
                        "the refused topic [" + topic + "] must not have been auto-created");
            }
        }
    }

    @Test
    @Timeout(90)
    void sendToMissingTopicWithoutAutoCreateHasNoRoute() throws Exception {
        BrokerConf conf = BrokerConf.defaults().set("autoCreateTopicEnable", "false");
        try (FerrocketProcess strict = FerrocketProcess.start("BadInputTest-noAutoCreate", conf)) {
            DefaultMQProducer producer = Clients.producer(strict, "missing_topic_producer");
            producer.setRetryTimesWhenSendFailed(0);
            start(producer);
            MQClientException e = assertThrows(MQClientException.class,
                    () -> producer.send(new Message("NoSuchTopic", "TagA", filled(8))),
                    "sending to a topic that does not exist, with autoCreateTopicEnable=false, must fail"
                            + strict.describe());
            assertTrue(e.getMessage().contains("No route info of this topic"),
                    "expected 'No route info of this topic' in: " + e.getMessage() + strict.describe());
            try (RawRemoting raw = new RawRemoting()) {
                assertEquals(RawRemoting.TOPIC_NOT_EXIST, raw.routeResponseCode(strict.nameServerAddress(),
                        "NoSuchTopic"), "GET_ROUTEINFO_BY_TOPIC for a missing topic" + strict.describe());
                assertEquals(RawRemoting.TOPIC_NOT_EXIST, raw.routeResponseCode(strict.nameServerAddress(),
                        "TBW102"), "without autoCreateTopicEnable the template topic TBW102 has no route"
                        + strict.describe());
            }
        }
    }

    private static byte[] filled(int size) {
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        return body;
    }
}
