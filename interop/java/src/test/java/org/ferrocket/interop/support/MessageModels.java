package org.ferrocket.interop.support;

import java.lang.reflect.Method;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;

/**
 * Sets a push consumer's MessageModel by name. The enum moved between client lines
 * (common.protocol.heartbeat in 4.9, remoting.protocol.heartbeat in 5.x), so it is looked up reflectively.
 */
public final class MessageModels {
    private MessageModels() {
    }

    /** Switches the consumer to BROADCASTING. */
    public static void broadcasting(DefaultMQPushConsumer consumer) {
        set(consumer, "BROADCASTING");
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void set(DefaultMQPushConsumer consumer, String model) {
        try {
            for (Method m : DefaultMQPushConsumer.class.getMethods()) {
                if (m.getName().equals("setMessageModel") && m.getParameterCount() == 1) {
                    Class<? extends Enum> type = (Class<? extends Enum>) m.getParameterTypes()[0];
                    m.invoke(consumer, Enum.valueOf(type, model));
                    return;
                }
            }
            throw new AssertionError("DefaultMQPushConsumer has no setMessageModel");
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot set MessageModel " + model, e);
        }
    }
}
