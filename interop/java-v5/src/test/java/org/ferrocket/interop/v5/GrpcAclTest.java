package org.ferrocket.interop.v5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.java.exception.ForbiddenException;
import org.apache.rocketmq.client.java.exception.UnauthorizedException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ACL 1.0 (aclEnable=true, plain_acl.yml) on ferrocket's gRPC port with the official v5 client and its
 * {@link StaticSessionCredentialsProvider}: an account with PUB|SUB sends, receives and acks; a wrong secret key
 * is refused with {@link UnauthorizedException}; an account without PUB on the topic gets
 * {@link ForbiddenException}; a 4.9.8 remoting producer signing with AclClientRPCHook is served by the same
 * broker.
 */
class GrpcAclTest {
    private static final String TOPIC = "V5AclTopic";
    private static final String ACL = "accounts:\n"
            + "  - accessKey: adminUser1\n"
            + "    secretKey: adminSecret1\n"
            + "    admin: true\n"
            + "  - accessKey: v5User01\n"
            + "    secretKey: v5Secret01\n"
            + "    defaultTopicPerm: DENY\n"
            + "    defaultGroupPerm: SUB\n"
            + "    topicPerms:\n"
            + "      - " + TOPIC + "=PUB|SUB\n"
            + "  - accessKey: v5Reader01\n"
            + "    secretKey: v5ReaderSecret01\n"
            + "    defaultTopicPerm: SUB\n"
            + "    defaultGroupPerm: SUB\n";
    private static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();

    private static Path aclDir;
    private static Standalone ferrocket;

    @BeforeAll
    static void start() throws Exception {
        aclDir = Files.createTempDirectory("ferrocket-v5-acl-");
        Path aclFile = aclDir.resolve("plain_acl.yml");
        Files.write(aclFile, ACL.getBytes(StandardCharsets.UTF_8));
        ferrocket = Standalone.withConf("aclEnable=true\naclPlainFile=" + aclFile + "\n"
                + "innerClientAuthenticationCredentials={\"accessKey\":\"adminUser1\",\"secretKey\":\"adminSecret1\"}\n",
                TOPIC);
    }

    @AfterAll
    static void stop() throws Exception {
        if (ferrocket != null) {
            ferrocket.close();
        }
        if (aclDir != null) {
            Files.deleteIfExists(aclDir.resolve("plain_acl.yml"));
            Files.deleteIfExists(aclDir);
        }
    }

    private static ClientConfiguration configuration(String accessKey, String secretKey) {
        return ClientConfiguration.newBuilder()
                .setEndpoints(ferrocket.grpcEndpoint())
                .enableSsl(false)
                .setRequestTimeout(Duration.ofSeconds(5))
                .setCredentialProvider(new StaticSessionCredentialsProvider(accessKey, secretKey))
                .build();
    }

    private static Message message(String body) {
        return PROVIDER.newMessageBuilder()
                .setTopic(TOPIC)
                .setTag("acl")
                .setBody(body.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    /** The first cause of {@code t} (itself included) of type {@code type}, or null. */
    private static <T extends Throwable> T causeOf(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    @Test
    void goodCredentialsSendReceiveAndAck() throws Exception {
        String sentId;
        try (Producer producer = PROVIDER.newProducerBuilder()
                .setClientConfiguration(configuration("v5User01", "v5Secret01"))
                .setTopics(TOPIC)
                .build()) {
            sentId = producer.send(message("signed body")).getMessageId().toString();
        }
        try (SimpleConsumer consumer = PROVIDER.newSimpleConsumerBuilder()
                .setClientConfiguration(configuration("v5User01", "v5Secret01"))
                .setConsumerGroup("v5_acl_group")
                .setAwaitDuration(Duration.ofSeconds(5))
                .setSubscriptionExpressions(Collections.singletonMap(TOPIC, FilterExpression.SUB_ALL))
                .build()) {
            List<MessageView> got = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline
                    && got.stream().noneMatch(m -> m.getMessageId().toString().equals(sentId))) {
                got.addAll(consumer.receive(16, Duration.ofSeconds(30)));
            }
            MessageView mine = got.stream().filter(m -> m.getMessageId().toString().equals(sentId))
                    .findFirst().orElse(null);
            assertNotNull(mine, "the signed message was not received");
            assertEquals("signed body", StandardCharsets.UTF_8.decode(mine.getBody()).toString());
            for (MessageView m : got) {
                consumer.ack(m);
            }
        }
    }

    @Test
    void wrongSecretIsUnauthorized() {
        Exception e = assertThrows(Exception.class, () -> {
            try (Producer producer = PROVIDER.newProducerBuilder()
                    .setClientConfiguration(configuration("v5User01", "not-the-secret"))
                    .setTopics(TOPIC)
                    .build()) {
                producer.send(message("never stored"));
            }
        });
        UnauthorizedException refused = causeOf(e, UnauthorizedException.class);
        assertNotNull(refused, "expected an UnauthorizedException in " + e);
        assertTrue(refused.getMessage().contains("accessKey=v5User01"), refused.getMessage());
    }

    @Test
    void accountWithoutPubIsForbidden() throws Exception {
        // SUB is enough to start (the route is readable), not to send
        try (Producer producer = PROVIDER.newProducerBuilder()
                .setClientConfiguration(configuration("v5Reader01", "v5ReaderSecret01"))
                .setTopics(TOPIC)
                .build()) {
            Exception e = assertThrows(Exception.class, () -> producer.send(message("not allowed")));
            ForbiddenException refused = causeOf(e, ForbiddenException.class);
            assertNotNull(refused, "expected a ForbiddenException in " + e);
            assertTrue(refused.getMessage().contains("PUB permission on topic:" + TOPIC), refused.getMessage());
        }
    }

    @Test
    void remotingClientWithAclHookStillWorks() throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("v5_acl_remoting_producer",
                new AclClientRPCHook(new SessionCredentials("v5User01", "v5Secret01")));
        producer.setNamesrvAddr(ferrocket.nameServer());
        producer.start();
        try {
            SendResult result = producer.send(new org.apache.rocketmq.common.message.Message(TOPIC,
                    "remoting".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, result.getSendStatus());
        } finally {
            producer.shutdown();
        }
    }
}
