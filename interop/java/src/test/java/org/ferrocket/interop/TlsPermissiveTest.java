package org.ferrocket.interop;

import java.util.ArrayList;
import java.util.List;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `tls.server.mode=permissive` (RocketMQ's default): TLS and plaintext clients share the port. */
class TlsPermissiveTest extends TlsTestBase {
    @Override
    String tlsMode() {
        return "permissive";
    }

    @Test
    @Timeout(120)
    void tlsAndPlaintextClientsShareThePort() throws Exception {
        DefaultMQProducer tls = producer("tls_permissive_producer", true);
        DefaultMQProducer plain = producer("plain_permissive_producer", false);
        List<String> ids = new ArrayList<>(send(tls, "TlsPermissiveTopic", 10));
        ids.addAll(send(plain, "TlsPermissiveTopic", 10));
        consumeAll("TlsPermissiveTopic", "tls_permissive_tls_consumer", true, ids);
        consumeAll("TlsPermissiveTopic", "tls_permissive_plain_consumer", false, ids);
    }
}
