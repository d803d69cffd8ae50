package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.java.impl.ClientImpl;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * An admin tool's requests to a RocketMQ 5 PushConsumer (rocketmq-client-java) on ferrocket's gRPC port, sent with
 * {@code ferrocket admin} over remoting: {@code consumerStatus -s} comes back with the thread dump the client printed
 * for a PrintThreadStackTraceCommand, and {@code queryMsgById -g -d} has the client's listener consume a stored
 * message (a VerifyMessageCommand) and reports CR_SUCCESS.
 */
class GrpcConsumerAdminTest {
    private static final String TOPIC = "V5AdminTopic";
    private static final String GROUP = "V5AdminGroup";

    @Test
    void adminRequestsReachThePushConsumer() throws Exception {
        Standalone ferrocket = new Standalone(TOPIC);
        DefaultMQProducer producer = new DefaultMQProducer("v5_admin_producer");
        PushConsumer consumer = null;
        try {
            producer.setNamesrvAddr(ferrocket.nameServer());
            producer.start();
            SendResult sent = producer.send(new Message(TOPIC, "TagA", "verify me".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus(), sent.toString());

            Set<String> consumed = ConcurrentHashMap.newKeySet();
            ClientConfiguration configuration = ClientConfiguration.newBuilder()
                    .setEndpoints(ferrocket.grpcEndpoint())
                    .setRequestTimeout(Duration.ofSeconds(5))
                    .build();
            consumer = ClientServiceProvider.loadService().newPushConsumerBuilder()
                    .setClientConfiguration(configuration)
                    .setConsumerGroup(GROUP)
                    .setSubscriptionExpressions(
                            Collections.singletonMap(TOPIC, new FilterExpression("*", FilterExpressionType.TAG)))
                    .setMessageListener(view -> {
                        consumed.add(StandardCharsets.UTF_8.decode(view.getBody()).toString());
                        return ConsumeResult.SUCCESS;
                    })
                    .build();
            String clientId = ((ClientImpl) consumer).getClientId().toString();

            String info = admin(ferrocket, "consumerStatus", "-g", GROUP, "-i", clientId, "-s", "--json");
            assertTrue(info.contains("\"jstack\"") && info.contains("STATE:"), info);
            assertTrue(info.contains(TOPIC) && info.contains("CONSUME_PASSIVELY"), info);

            String direct = admin(ferrocket, "queryMsgById", "-i", sent.getOffsetMsgId(), "-g", GROUP,
                    "-d", clientId, "--json");
            assertTrue(direct.contains("CR_SUCCESS"), direct);
            assertTrue(consumed.contains("verify me"), consumed.toString());
        } finally {
            if (consumer != null) {
                consumer.close();
            }
            producer.shutdown();
            ferrocket.close();
        }
    }

    /** Runs {@code ferrocket admin <args> -n <name server>}, which must succeed; returns its standard output. */
    private static String admin(Standalone ferrocket, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Standalone.binary().toString());
        command.add("admin");
        command.addAll(Arrays.asList(args));
        command.add("-n");
        command.add(ferrocket.nameServer());
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = process.getInputStream()) {
            in.transferTo(out);
        }
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "ferrocket admin " + command + " did not finish");
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), "ferrocket " + command + " failed: " + text);
        return text;
    }
}
