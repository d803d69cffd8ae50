package org.ferrocket.interop.support;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.remoting.RPCHook;

/**
 * Builds official RocketMQ clients pointed at one ferrocket. Every client gets its own instance name so that no
 * two clients share an MQClientInstance (and its connections) inside the test JVM.
 */
public final class Clients {
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final String PID = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];

    private Clients() {
    }

    /** A unique client instance name. */
    public static String uniqueInstanceName(String label) {
        return label + "-" + PID + "-" + SEQUENCE.incrementAndGet();
    }

    /** A producer (not yet started) with the client's default retry policy. */
    public static DefaultMQProducer producer(FerrocketProcess ferrocket, String group) {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        configure(producer, ferrocket, group);
        producer.setSendMsgTimeout(10_000);
        return producer;
    }

    /** A producer (not yet started) that records the remoting traffic through the given hook. */
    public static DefaultMQProducer producer(FerrocketProcess ferrocket, String group, RPCHook hook) {
        DefaultMQProducer producer = new DefaultMQProducer(group, hook);
        configure(producer, ferrocket, group);
        producer.setSendMsgTimeout(10_000);
        return producer;
    }

    /** A clustering push consumer (not yet started) that starts from the first offset for a new group. */
    public static DefaultMQPushConsumer pushConsumer(FerrocketProcess ferrocket, String group) {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        configure(consumer, ferrocket, group);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(4);
        consumer.setConsumeThreadMax(4);
        return consumer;
    }

    /** A clustering push consumer (not yet started) whose requests pass through the hook. */
    public static DefaultMQPushConsumer pushConsumer(FerrocketProcess ferrocket, String group, RPCHook hook) {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group, hook,
                new org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely());
        configure(consumer, ferrocket, group);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setConsumeThreadMin(4);
        consumer.setConsumeThreadMax(4);
        return consumer;
    }

    /** A lite pull consumer (not yet started); the hook may be null. */
    public static DefaultLitePullConsumer litePullConsumer(FerrocketProcess ferrocket, String group, RPCHook hook) {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group, hook);
        configure(consumer, ferrocket, group);
        consumer.setPullThreadNums(2);
        return consumer;
    }

    private static void configure(ClientConfig client, FerrocketProcess ferrocket, String label) {
        client.setNamesrvAddr(ferrocket.nameServerAddress());
        client.setInstanceName(uniqueInstanceName(label));
        // The broker only listens on listenPort, not on RocketMQ's VIP port (listenPort - 2).
        client.setVipChannelEnabled(false);
    }
}
