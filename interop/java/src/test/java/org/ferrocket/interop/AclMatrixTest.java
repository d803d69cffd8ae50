package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every request code the broker and the name server guard with ACL (admin-only codes, the name server's write
 * codes, the codes that need PUB or SUB on a topic or group), on every remoting port (the broker's listen port,
 * its fast port listenPort - 2, the name server), sent through the official client's NettyRemotingClient three
 * ways: unsigned, signed with a wrong secret (official AclClientRPCHook), and signed by an account without the
 * permission. Each must be answered NO_PERMISSION with RocketMQ's remark, and nothing may change: a snapshot of
 * the broker's topics, groups, offsets, messages, configuration, consumers and ACL, of the name server's routes,
 * clusters, KV and configuration, and of the broker's properties file and plain_acl.yml is taken before and after
 * each code and must be identical. The same snapshot changes when an admin sends one of the codes, so it can see a
 * change.
 */
class AclMatrixTest extends FerrocketTestBase {
    private static final int NO_PERMISSION = 16;

    private static final String ADMIN_AK = "matrixAdmin1";
    private static final String ADMIN_SK = "matrixAdminSecret1";
    private static final String USER_AK = "matrixUser01";
    private static final String USER_SK = "matrixUserSecret1";

    private static final String TOPIC = "AclMatrixTopic";
    private static final String GROUP = "aclMatrixGroup";
    private static final String NAMESPACE = "aclMatrixNs";

    /** The unprivileged account: known, correctly signed, no admin role, DENY on every topic and group. */
    private static final String ACL_FILE = "globalWhiteRemoteAddresses: []\n"
            + "accounts:\n"
            + "  - accessKey: " + ADMIN_AK + "\n"
            + "    secretKey: " + ADMIN_SK + "\n"
            + "    admin: true\n"
            + "  - accessKey: " + USER_AK + "\n"
            + "    secretKey: " + USER_SK + "\n"
            + "    admin: false\n"
            + "    defaultTopicPerm: DENY\n"
            + "    defaultGroupPerm: DENY\n";

    private Path aclFile;

    @Override
    protected BrokerConf brokerConf() {
        try {
            Path dir = Files.createTempDirectory("ferrocket-acl-matrix-");
            aclFile = dir.resolve("plain_acl.yml");
            Files.write(aclFile, ACL_FILE.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return BrokerConf.defaults()
                .set("aclEnable", "true")
                .set("aclPlainFile", aclFile.toString())
                .set("innerClientAuthenticationCredentials",
                        "{\"accessKey\":\"" + ADMIN_AK + "\",\"secretKey\":\"" + ADMIN_SK + "\"}");
    }

    /** One guarded request: its code, header fields and body, and the remark refusing the unprivileged account. */
    private static final class Row {
        final int code;
        final String name;
        final Map<String, String> fields;
        final byte[] body;
        final String unprivilegedRemark;

        Row(int code, String name, Map<String, String> fields, String body, String unprivilegedRemark) {
            this.code = code;
            this.name = name;
            this.fields = fields;
            this.body = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
            this.unprivilegedRemark = unprivilegedRemark;
        }
    }

    private static Map<String, String> fields(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private static String needAdmin(int code) {
        return "Need admin permission for request code=" + code + ", but accessKey=" + USER_AK + " is not";
    }

    private static final String TOPIC_DENIED = "No default permission for topic:" + TOPIC;
    private static final String GROUP_DENIED = "No default permission for group:" + GROUP;

    private static Row admin(int code, String name, Map<String, String> fields, String body) {
        return new Row(code, name, fields, body, needAdmin(code));
    }

    private static Map<String, String> topicFields(String topic) {
        return fields("topic", topic, "defaultTopic", "TBW102", "readQueueNums", "4", "writeQueueNums", "4",
                "perm", "6", "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false");
    }

    private static Map<String, String> sendV2(String batch) {
        return fields("a", "aclMatrixProducer", "b", TOPIC, "c", "TBW102", "d", "4", "e", "0", "f", "0",
                "g", String.valueOf(System.currentTimeMillis()), "h", "0", "j", "0", "k", "false", "m", batch);
    }

    private static Map<String, String> pull() {
        return fields("consumerGroup", GROUP, "topic", TOPIC, "queueId", "0", "queueOffset", "0", "maxMsgNums", "32",
                "sysFlag", "1", "commitOffset", "1", "suspendTimeoutMillis", "0", "subscription", "*",
                "subVersion", "0");
    }

    private static final String HEARTBEAT = "{\"clientID\":\"aclMatrixClient\",\"consumerDataSet\":[{\"groupName\":\""
            + GROUP + "\",\"consumeType\":\"CONSUME_PASSIVELY\",\"messageModel\":\"CLUSTERING\","
            + "\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"subscriptionDataSet\":[{\"topic\":\"" + TOPIC
            + "\",\"subString\":\"*\",\"tagsSet\":[],\"codeSet\":[],\"subVersion\":0,\"classFilterMode\":false,"
            + "\"expressionType\":\"TAG\"}],\"unitMode\":false}],\"producerDataSet\":[]}";

    private static final String GROUP_BODY = "{\"groupName\":\"aclMatrixCreatedGroup\",\"consumeEnable\":true,"
            + "\"consumeFromMinEnable\":true,\"consumeBroadcastEnable\":true,\"retryQueueNums\":1,"
            + "\"retryMaxTimes\":16,\"brokerId\":0,\"whichBrokerWhenConsumeSlowly\":1,"
            + "\"notifyConsumerIdsChangedEnable\":true}";

    /** The broker's guarded codes: ferrocket_acl::broker_decision's Resources and Admin entries. */
    private static List<Row> brokerRows() {
        List<Row> rows = new ArrayList<>();
        rows.add(new Row(10, "SEND_MESSAGE", fields("producerGroup", "aclMatrixProducer", "topic", TOPIC,
                "defaultTopic", "TBW102", "defaultTopicQueueNums", "4", "queueId", "0", "sysFlag", "0",
                "bornTimestamp", String.valueOf(System.currentTimeMillis()), "flag", "0", "reconsumeTimes", "0",
                "unitMode", "false", "batch", "false"), "refused", TOPIC_DENIED));
        rows.add(new Row(310, "SEND_MESSAGE_V2", sendV2("false"), "refused", TOPIC_DENIED));
        rows.add(new Row(320, "SEND_BATCH_MESSAGE", sendV2("true"), "refused", TOPIC_DENIED));
        rows.add(new Row(36, "CONSUMER_SEND_MSG_BACK", fields("offset", "0", "group", GROUP, "delayLevel", "0",
                "originMsgId", "7F00000100002A9F0000000000000000", "originTopic", TOPIC, "unitMode", "false",
                "maxReconsumeTimes", "16"), null, GROUP_DENIED));
        rows.add(new Row(11, "PULL_MESSAGE", pull(), null, TOPIC_DENIED));
        rows.add(new Row(361, "LITE_PULL_MESSAGE", pull(), null, TOPIC_DENIED));
        rows.add(new Row(12, "QUERY_MESSAGE", fields("topic", TOPIC, "key", "k", "maxNum", "32",
                "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null, TOPIC_DENIED));
        rows.add(new Row(34, "HEART_BEAT", fields(), HEARTBEAT, GROUP_DENIED));
        rows.add(new Row(35, "UNREGISTER_CLIENT", fields("clientID", "aclMatrixClient", "consumerGroup", GROUP),
                null, GROUP_DENIED));
        rows.add(new Row(38, "GET_CONSUMER_LIST_BY_GROUP", fields("consumerGroup", GROUP), null, GROUP_DENIED));
        rows.add(new Row(15, "UPDATE_CONSUMER_OFFSET", fields("consumerGroup", GROUP, "topic", TOPIC, "queueId", "0",
                "commitOffset", "99"), null, GROUP_DENIED));
        rows.add(new Row(14, "QUERY_CONSUMER_OFFSET", fields("consumerGroup", GROUP, "topic", TOPIC, "queueId", "0"),
                null, GROUP_DENIED));
        rows.add(admin(17, "UPDATE_AND_CREATE_TOPIC", topicFields("AclMatrixCreated"), null));
        rows.add(admin(18, "UPDATE_AND_CREATE_TOPIC_LIST", fields(),
                "{\"topicConfigList\":[{\"topicName\":\"AclMatrixListed\",\"readQueueNums\":4,"
                        + "\"writeQueueNums\":4,\"perm\":6}]}"));
        rows.add(admin(25, "UPDATE_BROKER_CONFIG", fields(), "brokerPermission=4\n"));
        rows.add(admin(215, "DELETE_TOPIC_IN_BROKER", fields("topic", TOPIC), null));
        rows.add(admin(200, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP", fields(), GROUP_BODY));
        rows.add(admin(207, "DELETE_SUBSCRIPTIONGROUP", fields("groupName", GROUP), null));
        rows.add(admin(222, "INVOKE_BROKER_TO_RESET_OFFSET", fields("topic", TOPIC, "group", GROUP, "timestamp", "0",
                "isForce", "true"), null));
        rows.add(admin(50, "UPDATE_AND_CREATE_ACL_CONFIG", fields("accessKey", USER_AK, "secretKey", "takeover01",
                "admin", "true"), null));
        rows.add(admin(51, "DELETE_ACL_CONFIG", fields("accessKey", ADMIN_AK), null));
        rows.add(admin(52, "GET_BROKER_CLUSTER_ACL_INFO", fields(), null));
        rows.add(admin(53, "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG", fields("globalWhiteAddrs", "*"), null));
        rows.add(admin(54, "GET_BROKER_CLUSTER_ACL_CONFIG", fields(), null));
        return rows;
    }

    /** The name server's guarded codes: ferrocket_acl::namesrv_decision's Admin entries. */
    private List<Row> nameServerRows() {
        List<Row> rows = new ArrayList<>();
        String broker = ferrocket.brokerAddress();
        rows.add(admin(100, "PUT_KV_CONFIG", fields("namespace", NAMESPACE, "key", "k", "value", "evil"), null));
        rows.add(admin(102, "DELETE_KV_CONFIG", fields("namespace", NAMESPACE, "key", "k"), null));
        rows.add(admin(103, "REGISTER_BROKER", fields("brokerName", "broker-evil", "brokerAddr", "127.0.0.1:1",
                "clusterName", "EvilCluster", "haServerAddr", "127.0.0.1:2", "brokerId", "0", "compressed", "false"),
                "{\"topicConfigSerializeWrapper\":{\"topicConfigTable\":{},\"dataVersion\":{\"counter\":1,"
                        + "\"timestamp\":1}},\"filterServerList\":[]}"));
        rows.add(admin(104, "UNREGISTER_BROKER", fields("brokerName", "broker-a", "brokerAddr", broker,
                "clusterName", "DefaultCluster", "brokerId", "0"), null));
        rows.add(admin(205, "WIPE_WRITE_PERM_OF_BROKER", fields("brokerName", "broker-a"), null));
        rows.add(admin(327, "ADD_WRITE_PERM_OF_BROKER", fields("brokerName", "broker-a"), null));
        rows.add(admin(216, "DELETE_TOPIC_IN_NAMESRV", fields("topic", TOPIC), null));
        rows.add(admin(217, "REGISTER_TOPIC_IN_NAMESRV", fields("topic", "AclMatrixEvil"),
                "{\"queueDatas\":[{\"brokerName\":\"broker-a\",\"readQueueNums\":4,\"writeQueueNums\":4,"
                        + "\"perm\":6,\"topicSysFlag\":0}],\"brokerDatas\":[]}"));
        rows.add(admin(318, "UPDATE_NAMESRV_CONFIG", fields(), "orderMessageEnable=true\n"));
        return rows;
    }

    private static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    private static RemotingCommand call(RawRemoting r, String address, int code, Map<String, String> fields,
            byte[] body) throws Exception {
        return r.invoke(address, code, new HashMap<>(fields), body);
    }

    /** Text of a response that does not depend on the order of JSON map entries. */
    private static String normalized(RemotingCommand r) {
        String body = r.getBody() == null ? "" : new String(r.getBody(), StandardCharsets.UTF_8);
        String[] tokens = body.split("[,{}\\[\\]]");
        Arrays.sort(tokens);
        return r.getCode() + ":" + String.join("|", tokens);
    }

    private Path brokerConfFile() {
        Path store = ferrocket.storeDir();
        return store.resolveSibling(store.getFileName() + ".conf");
    }

    /** Everything a guarded code could change, read with the admin account and the name server's open queries. */
    private Map<String, String> snapshot(RawRemoting admin, RawRemoting anonymous) throws Exception {
        String broker = ferrocket.brokerAddress();
        String ns = ferrocket.nameServerAddress();
        Map<String, String> s = new LinkedHashMap<>();
        s.put("topics", normalized(call(admin, broker, 21, fields(), null)));
        s.put("groups", normalized(call(admin, broker, 201, fields(), null)));
        // the offsets themselves: the table's data version moves when the broker persists it on its own
        s.put("offsets", normalized(call(admin, broker, 43, fields(), null))
                .replaceAll("\\|\"(counter|timestamp|stateVersion)\":[0-9]+", ""));
        s.put("brokerConfig", normalized(call(admin, broker, 26, fields(), null)));
        s.put("messages", normalized(call(admin, broker, 202, fields("topic", TOPIC), null)));
        s.put("consumers", String.valueOf(call(admin, broker, 203, fields("consumerGroup", GROUP), null).getCode()));
        s.put("acl", normalized(call(admin, broker, 54, fields(), null)));
        s.put("routes", normalized(call(anonymous, ns, 105, fields("topic", TOPIC), null)));
        s.put("evilRoute", normalized(call(anonymous, ns, 105, fields("topic", "AclMatrixEvil"), null)));
        s.put("clusters", normalized(call(anonymous, ns, 106, fields(), null)));
        s.put("kv", normalized(call(anonymous, ns, 219, fields("namespace", NAMESPACE), null)));
        s.put("namesrvConfig", normalized(call(anonymous, ns, 319, fields(), null)));
        s.put("brokerConfFile", new String(Files.readAllBytes(brokerConfFile()), StandardCharsets.UTF_8));
        s.put("aclFile", new String(Files.readAllBytes(aclFile), StandardCharsets.UTF_8));
        return s;
    }

    private static void assertOk(RemotingCommand r, String what) {
        assertEquals(0, r.getCode(), what + ": " + r.getRemark());
    }

    /** Topic, group, message, committed offset and KV entry for the refused codes to (not) change. */
    private void prepare(RawRemoting admin) throws Exception {
        String broker = ferrocket.brokerAddress();
        assertOk(call(admin, broker, 17, topicFields(TOPIC), null), "admin creates " + TOPIC);
        assertOk(call(admin, broker, 200, fields(), GROUP_BODY.replace("aclMatrixCreatedGroup", GROUP)
                .getBytes(StandardCharsets.UTF_8)), "admin creates " + GROUP);
        assertOk(call(admin, broker, 310, sendV2("false"), "stored".getBytes(StandardCharsets.UTF_8)),
                "admin sends");
        assertOk(call(admin, broker, 15, fields("consumerGroup", GROUP, "topic", TOPIC, "queueId", "0",
                "commitOffset", "1"), null), "admin commits an offset");
        assertOk(call(admin, ferrocket.nameServerAddress(), 100, fields("namespace", NAMESPACE, "key", "k",
                "value", "v"), null), "admin puts a KV entry");
        awaitRoute(ferrocket, TOPIC);
    }

    @Test
    @Timeout(300)
    void everyGuardedCodeIsRefusedOnEveryPortAndChangesNothing() throws Exception {
        int listenPort = ferrocket.brokerPort();
        Map<String, String> ports = new LinkedHashMap<>();
        ports.put("broker listen port", "127.0.0.1:" + listenPort);
        ports.put("broker fast port", "127.0.0.1:" + (listenPort - 2));

        Map<String, RPCHook> ways = new LinkedHashMap<>();
        ways.put("unsigned", null);
        ways.put("wrongly signed", hook(USER_AK, "notTheSecret1"));
        ways.put("signed without permission", hook(USER_AK, USER_SK));

        List<String> failures = new ArrayList<>();
        int checked = 0;
        try (RawRemoting admin = new RawRemoting(hook(ADMIN_AK, ADMIN_SK));
                RawRemoting anonymous = new RawRemoting();
                RawRemoting wrong = new RawRemoting(ways.get("wrongly signed"));
                RawRemoting user = new RawRemoting(ways.get("signed without permission"))) {
            Map<String, RawRemoting> clients = new LinkedHashMap<>();
            clients.put("unsigned", anonymous);
            clients.put("wrongly signed", wrong);
            clients.put("signed without permission", user);
            prepare(admin);

            Map<String, List<Row>> targets = new LinkedHashMap<>();
            for (Map.Entry<String, String> port : ports.entrySet()) {
                targets.put(port.getKey() + "=" + port.getValue(), brokerRows());
            }
            targets.put("name server=" + ferrocket.nameServerAddress(), nameServerRows());

            Map<String, String> before = snapshot(admin, anonymous);
            for (Map.Entry<String, List<Row>> target : targets.entrySet()) {
                String address = target.getKey().substring(target.getKey().indexOf('=') + 1);
                for (Row row : target.getValue()) {
                    for (Map.Entry<String, RawRemoting> way : clients.entrySet()) {
                        String what = row.name + " (" + row.code + ") " + way.getKey() + " on " + target.getKey();
                        RemotingCommand r = call(way.getValue(), address, row.code, row.fields, row.body);
                        String expected;
                        switch (way.getKey()) {
                            case "unsigned":
                                expected = "No accessKey is configured";
                                break;
                            case "wrongly signed":
                                expected = "Check signature failed for accessKey=" + USER_AK;
                                break;
                            default:
                                expected = row.unprivilegedRemark;
                        }
                        if (r.getCode() != NO_PERMISSION || !expected.equals(r.getRemark())) {
                            failures.add(what + ": answered " + r.getCode() + " '" + r.getRemark()
                                    + "', expected " + NO_PERMISSION + " '" + expected + "'");
                        } else if (r.getBody() != null && r.getBody().length > 0) {
                            failures.add(what + ": a refusal carried a body");
                        }
                        checked++;
                    }
                    Map<String, String> after = snapshot(admin, anonymous);
                    for (String key : before.keySet()) {
                        if (!before.get(key).equals(after.get(key))) {
                            failures.add(row.name + " (" + row.code + ") on " + target.getKey() + " changed " + key
                                    + ":\n  before " + before.get(key) + "\n  after  " + after.get(key));
                        }
                    }
                    before = after;
                }
            }
            assertTrue(failures.isEmpty(), failures.size() + " of " + checked + " refusals wrong:\n"
                    + String.join("\n", failures));
            assertEquals((brokerRows().size() * 2 + nameServerRows().size()) * 3, checked);

            // the snapshot sees the changes an admin makes through the same codes and ports
            assertOk(call(admin, ports.get("broker fast port"), 17, topicFields("AclMatrixCreated"), null),
                    "admin creates a topic on the fast port");
            Map<String, String> afterCreate = snapshot(admin, anonymous);
            assertNotEquals(before.get("topics"), afterCreate.get("topics"));
            assertOk(call(admin, ferrocket.nameServerAddress(), 100, fields("namespace", NAMESPACE, "key", "k",
                    "value", "changed"), null), "admin puts a KV entry");
            assertNotEquals(afterCreate.get("kv"), snapshot(admin, anonymous).get("kv"));
        }
    }
}
