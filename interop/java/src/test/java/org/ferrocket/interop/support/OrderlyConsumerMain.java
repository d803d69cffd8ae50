package org.ferrocket.interop.support;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * An orderly push consumer run in its own JVM, so a test can kill it with SIGKILL (a consumer crash: no
 * UNLOCK_BATCH_MQ, no offset flush). Each consumed message is appended to the output file as
 * "{@code <key> <seq> <queueId> <endMillis>}" once its processing has finished.
 *
 * <p>Arguments: name server address, group, topic, output file, milliseconds to spend per message.
 */
public final class OrderlyConsumerMain {
    private OrderlyConsumerMain() {
    }

    /** Starts the consumer and runs until killed. */
    public static void main(String[] args) throws Exception {
        String namesrv = args[0];
        String group = args[1];
        String topic = args[2];
        PrintStream out = new PrintStream(new FileOutputStream(args[3], true), true, StandardCharsets.UTF_8);
        long perMessageMillis = Long.parseLong(args[4]);

        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("orderly-child-" + ProcessHandle.current().pid());
        consumer.setVipChannelEnabled(false);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerOrderly) (messages, context) -> {
            for (MessageExt m : messages) {
                try {
                    Thread.sleep(perMessageMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
                }
                out.println(new String(m.getBody(), StandardCharsets.UTF_8) + " " + m.getQueueId() + " "
                        + System.currentTimeMillis());
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        System.out.println("orderly child started");
        Thread.sleep(Long.MAX_VALUE);
    }
}
