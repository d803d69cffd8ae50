package org.ferrocket.mqadmin;

import static org.ferrocket.mqadmin.Standalone.BROKER;
import static org.ferrocket.mqadmin.Standalone.CLUSTER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

/**
 * The official mqadmin's ACL 1.0 commands against a Ferrocket with aclEnable=true: updateAclConfig,
 * clusterAclConfigVersion, updateGlobalWhiteAddr and deleteAclConfig change plain_acl.yml and take effect at once;
 * without an admin account they are refused. mqadmin 5.5.0 no longer has these commands (RocketMQ 5.3.3 removed
 * ACL 1.0): the test checks that they are gone there.
 */
class MqAdminAclTest {
    private static final boolean V4 = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION).startsWith("V4_");
    private static final String ADMIN_AK = "mqAdminUser1";
    private static final String ADMIN_SK = "mqAdminSecret1";
    private static final String APP_AK = "mqAppUser01";
    private static final String APP_SK = "mqAppSecret01";

    /** mqadmin 4.9 reads its credentials from ${ROCKETMQ_HOME}/conf/tools.yml for every command. */
    private static Path toolsYml() {
        return Paths.get(System.getProperty("rocketmq.home.dir"), "conf", "tools.yml");
    }

    private static MqAdmin adminAs(String namesrv, String ak, String sk) throws Exception {
        if (ak == null) {
            Files.deleteIfExists(toolsYml());
            return new MqAdmin(namesrv, null);
        }
        Files.writeString(toolsYml(), "accessKey: " + ak + "\nsecretKey: " + sk + "\n");
        return new MqAdmin(namesrv, new AclClientRPCHook(new SessionCredentials(ak, sk)));
    }

    private static String aclFile(Standalone fr) throws Exception {
        return Files.readString(fr.dir().resolve("plain_acl.yml"), StandardCharsets.UTF_8);
    }

    private static SendStatus send(String namesrv, String ak, String sk, String topic) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("mqadmin_acl_producer",
                new AclClientRPCHook(new SessionCredentials(ak, sk)));
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("mqadmin-acl-" + System.nanoTime());
        p.setRetryTimesWhenSendFailed(0);
        p.setSendMsgTimeout(5000);
        p.start();
        try {
            return p.send(new Message(topic, "acl".getBytes(StandardCharsets.UTF_8))).getSendStatus();
        } finally {
            p.shutdown();
        }
    }

    @Test
    void aclCommandsChangeTheFileAndTakeEffect() throws Exception {
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-acl");
        Path acl = dir.resolve("plain_acl.yml");
        Files.writeString(acl, "accounts:\n  - accessKey: " + ADMIN_AK + "\n    secretKey: " + ADMIN_SK
                + "\n    admin: true\n");
        String conf = "aclEnable=true\naclPlainFile=" + acl + "\ninnerClientAuthenticationCredentials={\"accessKey\":\""
                + ADMIN_AK + "\",\"secretKey\":\"" + ADMIN_SK + "\"}\n";
        try (Standalone fr = Standalone.start("acl", conf)) {
            MqAdmin admin = adminAs(fr.namesrv, ADMIN_AK, ADMIN_SK);
            if (!V4) {
                MqAdmin.Result r = admin.run("updateAclConfig", "-a", APP_AK, "-s", APP_SK, "-b", fr.brokerAddr);
                assertTrue(r.out.contains("The sub command updateAclConfig not exist"), r.toString());
                return;
            }
            String out = admin.ok("updateAclConfig", "-a", APP_AK, "-s", APP_SK, "-i", "DENY", "-u", "SUB",
                    "-t", "MqAclTopic=PUB|SUB", "-b", fr.brokerAddr);
            assertTrue(out.contains("success"), out);
            String file = Files.readString(acl);
            assertTrue(file.contains(APP_AK) && file.contains("MqAclTopic=PUB|SUB"), file);
            assertEquals(SendStatus.SEND_OK, send(fr.namesrv, APP_AK, APP_SK, "MqAclTopic"));

            out = admin.ok("clusterAclConfigVersion", "-c", CLUSTER);
            assertTrue(out.contains(BROKER) && out.contains(fr.brokerAddr), out);

            out = admin.ok("updateGlobalWhiteAddr", "-g", "10.10.10.*,192.168.0.1", "-b", fr.brokerAddr);
            assertTrue(out.contains("success"), out);
            assertTrue(Files.readString(acl).contains("10.10.10.*"), Files.readString(acl));

            // a non-admin account and an anonymous mqadmin are refused, and the file stays as it is
            String before = Files.readString(acl);
            MqAdmin.Result refused = adminAs(fr.namesrv, APP_AK, APP_SK)
                    .run("deleteAclConfig", "-a", ADMIN_AK, "-b", fr.brokerAddr);
            assertTrue(refused.failed() && refused.err.contains("Need admin permission"), refused.toString());
            refused = adminAs(fr.namesrv, null, null)
                    .run("updateAclConfig", "-a", "intruder01", "-s", "intruder01", "-m", "true", "-b", fr.brokerAddr);
            assertTrue(refused.failed() && refused.err.contains("No accessKey is configured"), refused.toString());
            assertEquals(before, Files.readString(acl));

            admin = adminAs(fr.namesrv, ADMIN_AK, ADMIN_SK);
            out = admin.ok("deleteAclConfig", "-a", APP_AK, "-b", fr.brokerAddr);
            assertTrue(out.contains("success"), out);
            assertFalse(Files.readString(acl).contains(APP_AK), Files.readString(acl));
            try {
                send(fr.namesrv, APP_AK, APP_SK, "MqAclTopic");
                throw new AssertionError("a deleted account must be refused");
            } catch (Exception e) {
                StringBuilder chain = new StringBuilder();
                for (Throwable t = e; t != null; t = t.getCause()) {
                    chain.append(t).append('\n');
                }
                assertTrue(chain.toString().contains("No acl config for " + APP_AK), chain.toString());
            }
        } finally {
            Files.deleteIfExists(toolsYml());
        }
    }
}
