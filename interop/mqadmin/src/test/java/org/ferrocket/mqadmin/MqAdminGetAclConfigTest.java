package org.ferrocket.mqadmin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.common.MQVersion;
import org.junit.jupiter.api.Test;

/**
 * GET_BROKER_CLUSTER_ACL_CONFIG (54) with the official mqadmin's `getAclConfig` (rocketmq-tools 4.5 to 4.9.7, run
 * by run.sh with 4.9.7): it lists the global white addresses and the accounts of every ACL file — plain_acl.yml and
 * the files of the acl/ folder beside it — to an admin account, and refuses anyone else. mqadmin 4.9.8 and 5.x
 * dropped the command (RocketMQ removed the code for answering any signed account): the test checks it is gone.
 */
class MqAdminGetAclConfigTest {
    private static final String VERSION = MQVersion.getVersionDesc(MQVersion.CURRENT_VERSION);
    private static final boolean HAS_COMMAND = VERSION.startsWith("V4_") && !VERSION.equals("V4_9_8");
    private static final String ADMIN_AK = "mqAdminUser1";
    private static final String ADMIN_SK = "mqAdminSecret1";
    private static final String TEAM_AK = "mqTeamUser01";
    private static final String TEAM_SK = "mqTeamSecret01";

    private static MqAdmin adminAs(String namesrv, String ak, String sk) throws Exception {
        Path tools = Paths.get(System.getProperty("rocketmq.home.dir"), "conf", "tools.yml");
        Files.writeString(tools, "accessKey: " + ak + "\nsecretKey: " + sk + "\n");
        return new MqAdmin(namesrv, new AclClientRPCHook(new SessionCredentials(ak, sk)));
    }

    @Test
    void getAclConfigListsEveryAclFileToAdminsOnly() throws Exception {
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-getacl");
        Path acl = dir.resolve("plain_acl.yml");
        Files.writeString(acl, "globalWhiteRemoteAddresses:\n  - 10.20.30.*\naccounts:\n  - accessKey: " + ADMIN_AK
                + "\n    secretKey: " + ADMIN_SK + "\n    admin: true\n");
        Files.createDirectory(dir.resolve("acl"));
        Files.writeString(dir.resolve("acl").resolve("team.yml"), "accounts:\n  - accessKey: " + TEAM_AK
                + "\n    secretKey: " + TEAM_SK + "\n    defaultTopicPerm: PUB\n    topicPerms:\n"
                + "      - MqTeamTopic=PUB|SUB\n");
        String conf = "aclEnable=true\naclPlainFile=" + acl + "\ninnerClientAuthenticationCredentials={\"accessKey\":\""
                + ADMIN_AK + "\",\"secretKey\":\"" + ADMIN_SK + "\"}\n";
        try (Standalone fr = Standalone.start("getacl", conf)) {
            MqAdmin admin = adminAs(fr.namesrv, ADMIN_AK, ADMIN_SK);
            if (!HAS_COMMAND) {
                MqAdmin.Result r = admin.run("getAclConfig", "-b", fr.brokerAddr);
                assertTrue(r.out.contains("The sub command getAclConfig not exist"), VERSION + ": " + r);
                return;
            }
            String out = admin.ok("getAclConfig", "-b", fr.brokerAddr);
            assertTrue(out.contains("10.20.30.*"), out);
            for (String expected : new String[] {ADMIN_AK, ADMIN_SK, TEAM_AK, TEAM_SK, "MqTeamTopic=PUB|SUB"}) {
                assertTrue(out.contains(expected), expected + " missing from\n" + out);
            }
            // the same through -c: every master of the cluster
            assertEquals(out.trim(), admin.ok("getAclConfig", "-c", Standalone.CLUSTER).trim());

            MqAdmin.Result refused = adminAs(fr.namesrv, TEAM_AK, TEAM_SK).run("getAclConfig", "-b", fr.brokerAddr);
            assertTrue(refused.failed() && refused.err.contains("Need admin permission for request code=54"),
                    refused.toString());
            assertTrue(!refused.out.contains(ADMIN_SK), "no secret is shown to a non-admin account");
        }
    }
}
