package org.ferrocket.interop.support;

import java.util.LinkedHashMap;
import java.util.Map;

/** A RocketMQ broker properties file (the `-c` argument), built key by key. */
public final class BrokerConf {
    private final Map<String, String> entries = new LinkedHashMap<>();

    private BrokerConf() {
    }

    /** The quickstart single-broker settings; ports and addresses are filled in by FerrocketProcess. */
    public static BrokerConf defaults() {
        return new BrokerConf()
                .set("brokerClusterName", "DefaultCluster")
                .set("brokerName", "broker-a")
                .set("brokerId", "0")
                .set("brokerIP1", "127.0.0.1")
                .set("autoCreateTopicEnable", "true")
                .set("flushDiskType", "ASYNC_FLUSH")
                // Apache's gRPC default (8081) would be contended by every broker a test starts.
                .set("grpcServerPort", "0")
                // Small commit-log files keep each test's store cheap to create and delete.
                .set("mappedFileSizeCommitLog", String.valueOf(64 * 1024 * 1024));
    }

    /** Sets one key, replacing an earlier value. */
    public BrokerConf set(String key, String value) {
        entries.put(key, value);
        return this;
    }

    /** Returns the value of a key, or null. */
    public String get(String key) {
        return entries.get(key);
    }

    /** Renders the file in java.util.Properties syntax. */
    public String render() {
        StringBuilder out = new StringBuilder();
        entries.forEach((k, v) -> out.append(k).append('=').append(v).append('\n'));
        return out.toString();
    }
}
