package org.ferrocket.interop.support;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * Asks the broker directly (with the official transport) for what a test needs to see on the broker side:
 * queue offsets, a group's committed offset, and the ordered-consumption lock table.
 */
public final class BrokerQueries implements AutoCloseable {
    /** RequestCode.QUERY_CONSUMER_OFFSET. */
    public static final int QUERY_CONSUMER_OFFSET = 14;
    /** RequestCode.GET_MAX_OFFSET. */
    public static final int GET_MAX_OFFSET = 30;
    /** RequestCode.VIEW_MESSAGE_BY_ID. */
    public static final int VIEW_MESSAGE_BY_ID = 33;
    /** RequestCode.LOCK_BATCH_MQ. */
    public static final int LOCK_BATCH_MQ = 41;
    /** RequestCode.UNLOCK_BATCH_MQ. */
    public static final int UNLOCK_BATCH_MQ = 42;
    /** ResponseCode.QUERY_NOT_FOUND. */
    public static final int QUERY_NOT_FOUND = 22;

    private static final Pattern QUEUE_ID = Pattern.compile("\"queueId\"\\s*:\\s*(\\d+)");

    private final RawRemoting raw = new RawRemoting();
    private final String broker;
    private final String brokerName;

    /** Queries the broker of the given ferrocket. */
    public BrokerQueries(FerrocketProcess ferrocket) {
        this.broker = ferrocket.brokerAddress();
        this.brokerName = ferrocket.conf().get("brokerName");
    }

    /** The raw QUERY_CONSUMER_OFFSET response (code 0 with ext field offset, or 22). */
    public RemotingCommand queryConsumerOffset(String group, String topic, int queueId) throws Exception {
        return raw.invoke(broker, QUERY_CONSUMER_OFFSET,
                Map.of("consumerGroup", group, "topic", topic, "queueId", String.valueOf(queueId)), null);
    }

    /** The queue's max offset (number of messages ever stored in it), or -1 when the broker refuses. */
    public long maxOffset(String topic, int queueId) throws Exception {
        RemotingCommand response = raw.invoke(broker, GET_MAX_OFFSET,
                Map.of("topic", topic, "queueId", String.valueOf(queueId)), null);
        if (response.getCode() != RawRemoting.SUCCESS) {
            return -1;
        }
        return Long.parseLong(response.getExtFields().get("offset"));
    }

    /**
     * The sysFlag of the stored record named by an offset message id (SendResult.getOffsetMsgId()), read with
     * VIEW_MESSAGE_BY_ID, which returns the record as stored (clients decompress bodies and, from 5.x on, clear
     * the COMPRESSED flag when decoding).
     */
    public int storedSysFlag(String offsetMsgId) throws Exception {
        // The id is the store host (IPv4 + port, 8 bytes) followed by the 8-byte commit log offset, in hex.
        long offset = Long.parseUnsignedLong(offsetMsgId.substring(offsetMsgId.length() - 16), 16);
        RemotingCommand response = raw.invoke(broker, VIEW_MESSAGE_BY_ID, Map.of("offset", String.valueOf(offset)),
                null);
        if (response.getCode() != RawRemoting.SUCCESS || response.getBody() == null) {
            throw new AssertionError("VIEW_MESSAGE_BY_ID answered " + response.getCode() + ": "
                    + response.getRemark());
        }
        // Record layout: totalSize, magicCode, bodyCRC, queueId, flag (4 bytes each), queueOffset,
        // physicalOffset (8 bytes each), then sysFlag.
        return java.nio.ByteBuffer.wrap(response.getBody()).getInt(36);
    }

    /** LOCK_BATCH_MQ for the given queue ids of a topic; returns the queue ids the broker granted. */
    public Set<Integer> lockBatch(String group, String clientId, String topic, Collection<Integer> queueIds)
            throws Exception {
        RemotingCommand response = raw.invoke(broker, LOCK_BATCH_MQ, Map.of(),
                lockBody(group, clientId, topic, queueIds));
        if (response.getCode() != RawRemoting.SUCCESS) {
            throw new AssertionError("LOCK_BATCH_MQ answered " + response.getCode() + ": " + response.getRemark());
        }
        Set<Integer> granted = new TreeSet<>();
        if (response.getBody() != null) {
            Matcher m = QUEUE_ID.matcher(new String(response.getBody(), StandardCharsets.UTF_8));
            while (m.find()) {
                granted.add(Integer.parseInt(m.group(1)));
            }
        }
        return granted;
    }

    /** UNLOCK_BATCH_MQ for the given queue ids of a topic; returns the response code. */
    public int unlockBatch(String group, String clientId, String topic, Collection<Integer> queueIds)
            throws Exception {
        return raw.invoke(broker, UNLOCK_BATCH_MQ, Map.of(), lockBody(group, clientId, topic, queueIds)).getCode();
    }

    private byte[] lockBody(String group, String clientId, String topic, Collection<Integer> queueIds) {
        StringBuilder mqs = new StringBuilder();
        for (int id : queueIds) {
            if (mqs.length() > 0) {
                mqs.append(',');
            }
            mqs.append("{\"topic\":\"").append(topic).append("\",\"brokerName\":\"").append(brokerName)
                    .append("\",\"queueId\":").append(id).append('}');
        }
        String json = "{\"consumerGroup\":\"" + group + "\",\"clientId\":\"" + clientId
                + "\",\"onlyThisBroker\":false,\"mqSet\":[" + mqs + "]}";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        raw.close();
    }
}
