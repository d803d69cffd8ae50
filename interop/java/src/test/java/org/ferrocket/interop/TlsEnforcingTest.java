package org.ferrocket.interop;

import java.util.List;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `tls.server.mode=enforcing`: clients with `setUseTLS(true)` are served, plaintext clients are closed. */
class TlsEnforcingTest extends TlsTestBase {
    @Override
    String tlsMode() {
        return "enforcing";
    }

    @Test
    @Timeout(120)
    void tlsClientsProduceAndConsume() throws Exception {
        DefaultMQProducer producer = producer("tls_enforcing_producer", true);
        List<String> ids = send(producer, "TlsEnforcingTopic", 20);
        consumeAll("TlsEnforcingTopic", "tls_enforcing_consumer", true, ids);
    }

    @Test
    @Timeout(60)
    void plaintextClientsAreRefused() throws Exception {
        plaintextIsRefused("TlsEnforcingPlainTopic");
    }
}
