package org.ferrocket.interop.support;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.message.MessageExt;

/** Collects delivered messages by a key (msgId, body text...) and counts deliveries, thread-safely. */
public final class Received {
    private final Function<MessageExt, String> keyOf;
    private final Map<String, List<MessageExt>> byKey = new ConcurrentHashMap<>();

    /** Collects messages keyed by the given function. */
    public Received(Function<MessageExt, String> keyOf) {
        this.keyOf = keyOf;
    }

    /** Collects messages keyed by msgId (the client-generated UNIQ_KEY). */
    public static Received byMsgId() {
        return new Received(MessageExt::getMsgId);
    }

    /** Records one delivery. */
    public void add(MessageExt message) {
        byKey.computeIfAbsent(keyOf.apply(message), k -> new CopyOnWriteArrayList<>()).add(message);
    }

    /** A concurrent listener that records every delivery and acknowledges it. */
    public MessageListenerConcurrently listener() {
        return (messages, context) -> {
            messages.forEach(this::add);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }

    /** Number of distinct keys delivered. */
    public int distinct() {
        return byKey.size();
    }

    /** Whether every one of the keys was delivered at least once. */
    public boolean containsAll(Collection<String> keys) {
        return byKey.keySet().containsAll(keys);
    }

    /** Keys among `expected` that were never delivered. */
    public List<String> missing(Collection<String> expected) {
        List<String> missing = new ArrayList<>();
        for (String key : expected) {
            if (!byKey.containsKey(key)) {
                missing.add(key);
            }
        }
        return missing;
    }

    /** Number of deliveries beyond the first, summed over all keys. */
    public int duplicates() {
        return byKey.values().stream().mapToInt(l -> l.size() - 1).sum();
    }

    /** The delivered keys. */
    public Set<String> keys() {
        return byKey.keySet();
    }

    /** All deliveries of one key (empty when never delivered). */
    public List<MessageExt> deliveries(String key) {
        return byKey.getOrDefault(key, List.of());
    }

    /** A short description for failure messages. */
    public String summary(Collection<String> expected) {
        List<String> missing = missing(expected);
        return "delivered " + distinct() + " distinct of " + expected.size() + " expected, " + duplicates()
                + " duplicate deliveries, missing " + missing.size()
                + (missing.isEmpty() ? "" : " e.g. " + missing.subList(0, Math.min(5, missing.size())));
    }
}
