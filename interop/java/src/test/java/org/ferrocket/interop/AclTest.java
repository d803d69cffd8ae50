package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.Await;
import org.ferrocket.interop.support.BrokerConf;
import org.ferrocket.interop.support.Clients;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ACL 1.0 with the official AclClientRPCHook: unsigned, wrongly signed and signed-but-not-permitted requests are
 * refused with NO_PERMISSION and RocketMQ's remark and change nothing; a permitted account sends and consumes
 * (retries included); plain_acl.yml edited while the broker runs takes effect; the name server refuses anonymous
 * UNREGISTER_BROKER.
 */
class AclTest extends FerrocketTestBase {
    private static final int NO_PERMISSION = 16;
    private static final int UPDATE_AND_CREATE_TOPIC = 17;
    private static final int UPDATE_BROKER_CONFIG = 25;
    private static final int DELETE_TOPIC_IN_BROKER = 215;
    private static final int PULL_MESSAGE = 11;
    private static final int UNREGISTER_BROKER = 104;
    private static final int UPDATE_AND_CREATE_ACL_CONFIG = 50;
    private static final int DELETE_ACL_CONFIG = 51;
    private static final int GET_BROKER_CLUSTER_ACL_INFO = 52;
    private static final int UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53;

    private static final String ADMIN_AK = "aclAdmin01";
    private static final String ADMIN_SK = "aclAdminSecret01";
    private static final String APP_AK = "aclApp0001";
    private static final String APP_SK = "aclAppSecret01";
    private static final String SUB_AK = "aclSubOnly1";
    private static final String SUB_SK = "aclSubSecret1";

    private static final String BASE_FILE = "globalWhiteRemoteAddresses: []\n"
            + "accounts:\n"
            + "  - accessKey: " + ADMIN_AK + "\n"
            + "    secretKey: " + ADMIN_SK + "\n"
            + "    admin: true\n"
            + "  - accessKey: " + APP_AK + "\n"
            + "    secretKey: " + APP_SK + "\n"
            + "    admin: false\n"
            + "    defaultTopicPerm: DENY\n"
            + "    defaultGroupPerm: SUB\n"
            + "    topicPerms:\n"
            + "      - AclTopic=PUB|SUB\n"
            + "      - AclRetryTopic=PUB|SUB\n"
            + "      - AclEditTopic=PUB\n"
            + "    groupPerms:\n"
            + "      - aclDeniedGroup=DENY\n"
            + "  - accessKey: " + SUB_AK + "\n"
            + "    secretKey: " + SUB_SK + "\n"
            + "    defaultTopicPerm: SUB\n"
            + "    defaultGroupPerm: SUB\n";

    private Path aclFile;

    @Override
    protected BrokerConf brokerConf() {
        try {
            Path dir = Files.createTempDirectory("ferrocket-acl-");
            aclFile = dir.resolve("plain_acl.yml");
            Files.write(aclFile, BASE_FILE.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return BrokerConf.defaults()
                .set("aclEnable", "true")
                .set("aclPlainFile", aclFile.toString())
                .set("innerClientAuthenticationCredentials",
                        "{\"accessKey\":\"" + ADMIN_AK + "\",\"secretKey\":\"" + ADMIN_SK + "\"}")
                // retries come back after 1 s instead of 10 s
                .set("messageDelayLevel", String.join(" ", Collections.nCopies(18, "1s")));
    }

    private static RPCHook hook(String ak, String sk) {
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    private RemotingCommand raw(RPCHook hook, String address, int code, Map<String, String> fields)
            throws Exception {
        try (RawRemoting r = new RawRemoting(hook)) {
            return r.invoke(address, code, fields, null);
        }
    }

    private void createTopic(String topic) throws Exception {
        RemotingCommand r = raw(hook(ADMIN_AK, ADMIN_SK), ferrocket.brokerAddress(), UPDATE_AND_CREATE_TOPIC,
                topicFields(topic));
        assertEquals(0, r.getCode(), "admin creates " + topic + ": " + r.getRemark());
        awaitRoute(ferrocket, topic);
    }

    private static Map<String, String> topicFields(String topic) {
        return Map.of("topic", topic, "defaultTopic", "TBW102", "readQueueNums", "4", "writeQueueNums", "4",
                "perm", "6", "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false");
    }

    private static void assertRefused(RemotingCommand r, String remark) {
        assertEquals(NO_PERMISSION, r.getCode(), "code of a refused request, remark " + r.getRemark());
        assertEquals(remark, r.getRemark());
    }

    /** The broker's refusal inside whatever the client threw. */
    private static MQBrokerException refusal(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof MQBrokerException) {
                return (MQBrokerException) c;
            }
        }
        throw new AssertionError("expected a broker refusal, got " + t, t);
    }

    private void assertSendRefused(DefaultMQProducer producer, String topic, String remark) {
        try {
            SendResult r = producer.send(new Message(topic, "refused".getBytes(StandardCharsets.UTF_8)));
            fail("send to " + topic + " must be refused, got " + r);
        } catch (Exception e) {
            MQBrokerException b = refusal(e);
            assertEquals(NO_PERMISSION, b.getResponseCode(), String.valueOf(e));
            assertEquals(remark, b.getErrorMessage());
        }
    }

    /** Consumes `topic` from its first offset with the permitted account and returns the bodies seen. */
    private Set<String> consumeAll(String topic, String group, int expected) throws Exception {
        Set<String> bodies = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, group, hook(APP_AK, APP_SK));
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> bodies.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> bodies.size() >= expected,
                () -> "consumed " + bodies + " of " + topic);
        // anything refused but stored anyway would show up within the same pulls
        Await.quietPeriod(Duration.ofSeconds(2));
        return bodies;
    }

    @Test
    @Timeout(120)
    void refusedSendsAndPullsStoreNothing() throws Exception {
        createTopic("AclTopic");
        DefaultMQProducer app = start(Clients.producer(ferrocket, "aclAppProducer", hook(APP_AK, APP_SK)));
        assertEquals(SendStatus.SEND_OK,
                app.send(new Message("AclTopic", "permitted".getBytes(StandardCharsets.UTF_8))).getSendStatus());

        assertSendRefused(start(Clients.producer(ferrocket, "aclAnonProducer")), "AclTopic",
                "No accessKey is configured");
        assertSendRefused(start(Clients.producer(ferrocket, "aclWrongProducer", hook(APP_AK, "wrongSecret1"))),
                "AclTopic", "Check signature failed for accessKey=" + APP_AK);
        assertSendRefused(start(Clients.producer(ferrocket, "aclUnknownProducer", hook("nobody0001", APP_SK))),
                "AclTopic", "No acl config for nobody0001");
        assertSendRefused(start(Clients.producer(ferrocket, "aclSubProducer", hook(SUB_AK, SUB_SK))),
                "AclTopic", "No default permission for topic:AclTopic");

        Map<String, String> pull = Map.of("consumerGroup", "aclAnyGroup", "topic", "AclTopic", "queueId", "0",
                "queueOffset", "0", "maxMsgNums", "32", "sysFlag", "0", "commitOffset", "0",
                "suspendTimeoutMillis", "0", "subVersion", "0");
        assertRefused(raw(null, ferrocket.brokerAddress(), PULL_MESSAGE, pull), "No accessKey is configured");
        assertRefused(raw(hook(APP_AK, APP_SK), ferrocket.brokerAddress(), PULL_MESSAGE,
                Map.of("consumerGroup", "aclDeniedGroup", "topic", "AclTopic", "queueId", "0", "queueOffset", "0",
                        "maxMsgNums", "32", "sysFlag", "0", "commitOffset", "0", "suspendTimeoutMillis", "0",
                        "subVersion", "0")),
                "No default permission for group:aclDeniedGroup");

        assertEquals(Set.of("permitted"), consumeAll("AclTopic", "aclCheckGroup", 1),
                "only the permitted message was stored");
    }

    @Test
    @Timeout(120)
    void refusedSendToAnotherTopicCreatesNoTopic() throws Exception {
        DefaultMQProducer app = start(Clients.producer(ferrocket, "aclAutoCreateProducer", hook(APP_AK, APP_SK)));
        assertSendRefused(app, "AclNotPermittedTopic", "No default permission for topic:AclNotPermittedTopic");
        try (RawRemoting r = new RawRemoting()) {
            assertEquals(RawRemoting.TOPIC_NOT_EXIST, r.routeResponseCode(ferrocket.nameServerAddress(),
                    "AclNotPermittedTopic"), "a refused send must not auto-create the topic");
        }
    }

    @Test
    @Timeout(120)
    void adminCodesNeedAnAdminAccount() throws Exception {
        String broker = ferrocket.brokerAddress();
        RPCHook app = hook(APP_AK, APP_SK);
        RPCHook wrong = hook(ADMIN_AK, "notTheSecret");
        for (RPCHook h : new RPCHook[] {null, app, wrong}) {
            RemotingCommand r = raw(h, broker, UPDATE_AND_CREATE_TOPIC, topicFields("AclAdminOnlyTopic"));
            assertEquals(NO_PERMISSION, r.getCode(), r.getRemark());
        }
        assertRefused(raw(app, broker, UPDATE_AND_CREATE_TOPIC, topicFields("AclAdminOnlyTopic")),
                "Need admin permission for request code=17, but accessKey=" + APP_AK + " is not");
        assertRefused(raw(wrong, broker, DELETE_TOPIC_IN_BROKER, Map.of("topic", "AclTopic")),
                "Check signature failed for accessKey=" + ADMIN_AK);
        assertRefused(raw(app, broker, UPDATE_BROKER_CONFIG, Map.of()),
                "Need admin permission for request code=25, but accessKey=" + APP_AK + " is not");
        for (int code : new int[] {UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG, GET_BROKER_CLUSTER_ACL_INFO,
                UPDATE_GLOBAL_WHITE_ADDRS_CONFIG}) {
            Map<String, String> fields = Map.of("accessKey", APP_AK, "secretKey", "takeover01", "admin", "true",
                    "globalWhiteAddrs", "*");
            assertRefused(raw(app, broker, code, fields),
                    "Need admin permission for request code=" + code + ", but accessKey=" + APP_AK + " is not");
            assertRefused(raw(null, broker, code, fields), "No accessKey is configured");
        }
        try (RawRemoting r = new RawRemoting()) {
            assertEquals(RawRemoting.TOPIC_NOT_EXIST, r.routeResponseCode(ferrocket.nameServerAddress(),
                    "AclAdminOnlyTopic"), "refused creations created nothing");
        }
        assertEquals(BASE_FILE, new String(Files.readAllBytes(aclFile), StandardCharsets.UTF_8),
                "refused ACL updates left plain_acl.yml alone");

        RemotingCommand info = raw(hook(ADMIN_AK, ADMIN_SK), broker, GET_BROKER_CLUSTER_ACL_INFO, Map.of());
        assertEquals(0, info.getCode(), info.getRemark());
        assertNotNull(info.getExtFields().get("version"));
        assertEquals("broker-a", info.getExtFields().get("brokerName"));
    }

    @Test
    @Timeout(120)
    void permittedAccountSendsAndConsumesWithRetry() throws Exception {
        createTopic("AclRetryTopic");
        DefaultMQProducer producer = start(Clients.producer(ferrocket, "aclRetryProducer", hook(APP_AK, APP_SK)));
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String body = "retry-" + i;
            assertEquals(SendStatus.SEND_OK,
                    producer.send(new Message("AclRetryTopic", body.getBytes(StandardCharsets.UTF_8)))
                            .getSendStatus());
            sent.add(body);
        }
        List<String> firstTries = new CopyOnWriteArrayList<>();
        List<String> retries = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(ferrocket, "aclRetryGroup", hook(APP_AK, APP_SK));
        consumer.subscribe("AclRetryTopic", "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                if (m.getReconsumeTimes() == 0) {
                    firstTries.add(body);
                    // each message fails once: CONSUMER_SEND_MSG_BACK, then a pull from %RETRY%aclRetryGroup
                    ctx.setDelayLevelWhenNextConsume(1);
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
                retries.add(body);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.setConsumeMessageBatchMaxSize(1);
        start(consumer);
        Await.until(Duration.ofSeconds(60), () -> retries.containsAll(sent),
                () -> "first tries " + firstTries + ", retries " + retries);
        assertTrue(firstTries.containsAll(sent), "first tries " + firstTries);
    }

    @Test
    @Timeout(120)
    void aclFileEditedWhileRunningTakesEffect() throws Exception {
        createTopic("AclEditTopic");
        String lateAk = "aclLateUser1";
        String lateSk = "aclLateSecret1";
        DefaultMQProducer late = start(Clients.producer(ferrocket, "aclLateProducer", hook(lateAk, lateSk)));
        assertSendRefused(late, "AclEditTopic", "No acl config for " + lateAk);

        String withLate = BASE_FILE
                + "  - accessKey: " + lateAk + "\n"
                + "    secretKey: " + lateSk + "\n"
                + "    defaultTopicPerm: PUB\n";
        replaceAclFile(withLate);
        String[] last = {""};
        Await.until(Duration.ofSeconds(20), () -> {
            try {
                return late.send(new Message("AclEditTopic", "late".getBytes(StandardCharsets.UTF_8)))
                        .getSendStatus() == SendStatus.SEND_OK;
            } catch (Exception e) {
                last[0] = String.valueOf(e);
                return false;
            }
        }, () -> "the added account never became usable: " + last[0]);

        replaceAclFile(withLate.replace("defaultTopicPerm: PUB\n", "defaultTopicPerm: DENY\n"));
        Await.until(Duration.ofSeconds(20), () -> {
            try {
                late.send(new Message("AclEditTopic", "late".getBytes(StandardCharsets.UTF_8)));
                return false;
            } catch (Exception e) {
                return refusal(e).getErrorMessage().equals("No default permission for topic:AclEditTopic");
            }
        }, () -> "the denied permission never took effect");
        replaceAclFile(BASE_FILE);
    }

    /** Replaces plain_acl.yml the way editors and config tools do: write aside, then rename. */
    private void replaceAclFile(String text) throws IOException {
        Path tmp = aclFile.resolveSibling("plain_acl.yml.edit");
        Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, aclFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    @Timeout(120)
    void nameServerRefusesAnonymousUnregisterBroker() throws Exception {
        createTopic("AclTopic");
        Map<String, String> unregister = Map.of("brokerName", "broker-a", "brokerAddr", ferrocket.brokerAddress(),
                "clusterName", "DefaultCluster", "brokerId", "0");
        String ns = ferrocket.nameServerAddress();
        assertRefused(raw(null, ns, UNREGISTER_BROKER, unregister), "No accessKey is configured");
        assertRefused(raw(hook(APP_AK, APP_SK), ns, UNREGISTER_BROKER, unregister),
                "Need admin permission for request code=104, but accessKey=" + APP_AK + " is not");
        assertRefused(raw(hook(ADMIN_AK, "notTheSecret"), ns, UNREGISTER_BROKER, unregister),
                "Check signature failed for accessKey=" + ADMIN_AK);
        try (RawRemoting r = new RawRemoting()) {
            assertEquals(RawRemoting.SUCCESS, r.routeResponseCode(ns, "AclTopic"),
                    "the broker is still registered and anonymous route queries are answered");
        }
    }
}
