package org.ferrocket.mqadmin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * The official mqadmin's {@code consumerStatus} and {@code queryMsgById -g -d} against Ferrocket: the broker
 * forwards GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY to a Java push consumer and relays its answers.
 */
class MqAdminConsumerStatusTest {
    private static final String TOPIC = "MqAdminStatusTopic";
    private static final String GROUP = "MqAdminStatusGroup";
    private static final boolean V4 = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).startsWith("V4_");

    /** consumerStatus saves each member's info under a timestamped folder of the working directory. */
    private static void removeInfoFiles(String out, String clientId) throws IOException {
        for (String line : out.split("\n")) {
            String[] columns = line.trim().split("\\s+");
            if (columns.length == 4 && columns[1].equals(clientId)) {
                Path file = Paths.get(columns[3]);
                Files.deleteIfExists(file);
                if (file.getParent() != null) {
                    Files.deleteIfExists(file.getParent());
                }
            }
        }
    }

    @Test
    void consumerStatusAndDirectConsumptionReachThePushConsumer() throws Exception {
        try (Standalone fr = Standalone.start("consumer-status")) {
            MqAdmin admin = new MqAdmin(fr.namesrv);
            DefaultMQProducer p = new DefaultMQProducer(GROUP + "_producer");
            p.setNamesrvAddr(fr.namesrv);
            p.setInstanceName("status-p-" + System.nanoTime());
            p.start();
            DefaultMQPushConsumer c = new DefaultMQPushConsumer(GROUP);
            try {
                SendResult r = p.send(new Message(TOPIC, "TagS", "status".getBytes(StandardCharsets.UTF_8)));
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), r.toString());

                CountDownLatch consumed = new CountDownLatch(2);
                c.setNamesrvAddr(fr.namesrv);
                c.setInstanceName("status-c-" + System.nanoTime());
                c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
                c.subscribe(TOPIC, "TagS");
                c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    msgs.forEach(m -> consumed.countDown());
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                c.start();
                String clientId = c.buildMQClientId();

                String out = admin.ok("consumerStatus", "-g", GROUP, "-i", clientId, "-s");
                assertTrue(out.contains(TOPIC) && out.contains("TagS"), out);
                assertTrue(out.contains("CONSUME_PASSIVELY"), out);

                out = admin.ok("consumerStatus", "-g", GROUP);
                assertTrue(out.contains(clientId), out);
                assertTrue(out.contains("Same subscription in the same group of consumer"), out);
                removeInfoFiles(out, clientId);

                // the message consumed once already is handed to the listener a second time
                // 5.x requires -t; 4.9.x has no such option
                String[] direct = V4
                    ? new String[] {"-i", r.getOffsetMsgId(), "-g", GROUP, "-d", clientId}
                    : new String[] {"-i", r.getOffsetMsgId(), "-g", GROUP, "-d", clientId, "-t", TOPIC};
                out = admin.ok("queryMsgById", direct);
                assertTrue(out.contains("CR_SUCCESS"), out);
                assertTrue(consumed.await(30, TimeUnit.SECONDS), "the message was not consumed twice");

                MqAdmin.Result gone = admin.run("consumerStatus", "-g", GROUP, "-i", "10.9.9.9@nobody");
                assertTrue(gone.failed() && gone.err.contains("not online"), gone.toString());
            } finally {
                c.shutdown();
                p.shutdown();
            }
        }
    }
}
