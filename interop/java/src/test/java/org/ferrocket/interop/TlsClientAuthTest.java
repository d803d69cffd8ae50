package org.ferrocket.interop;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.Key;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.remoting.netty.TlsSystemConfig;
import org.ferrocket.interop.support.BrokerConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * `tls.server.need.client.auth=require` with `tls.server.authClient=true`: the official client presents the
 * certificate of RocketMQ's client keys (`tls.client.certPath`, `tls.client.keyPath`, read by the client's
 * TlsSystemConfig with `tls.test.mode.enable=false`), signed by the CA in `tls.server.trustCertPath`, and
 * produces and consumes; a client in RocketMQ's default test mode, which presents no certificate, is refused.
 * The broker reaches its name server with the same kind of certificate (its own `tls.client.*` keys).
 * Certificates are made with the JDK's keytool (RSA: the JDK writes EC keys as PKCS#8 without their public key,
 * which rustls' ring provider does not read).
 */
class TlsClientAuthTest extends TlsTestBase {
    private static final String STORE_PASS = "changeit";

    private Path pki;

    @Override
    String tlsMode() {
        return "enforcing";
    }

    @Override
    protected BrokerConf brokerConf() {
        try {
            pki = Files.createTempDirectory("ferrocket-tls-pki-");
            makePki(pki);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot make test certificates with keytool: " + e, e);
        }
        return super.brokerConf()
                .set("tls.server.need.client.auth", "require")
                .set("tls.server.authClient", "true")
                .set("tls.server.trustCertPath", pki.resolve("ca.pem").toString())
                .set("tls.client.certPath", pki.resolve("client.pem").toString())
                .set("tls.client.keyPath", pki.resolve("client.key").toString());
    }

    private static void keytool(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }

    /** A CA (ca.pem) and a client certificate it signed (client.pem) with its PKCS#8 key (client.key). */
    private static void makePki(Path dir) throws IOException, InterruptedException {
        String[] store = {"-storetype", "PKCS12", "-storepass", STORE_PASS, "-keypass", STORE_PASS};
        keytool(dir, concat(new String[] {"-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize",
                "2048", "-dname", "CN=Ferrocket Test CA", "-ext", "bc:c", "-validity", "2", "-keystore",
                "ca.p12"}, store));
        keytool(dir, concat(new String[] {"-genkeypair", "-alias", "client", "-keyalg", "RSA", "-keysize",
                "2048", "-dname", "CN=ferrocket-test-client", "-validity", "2", "-keystore", "client.p12"},
                store));
        keytool(dir, concat(new String[] {"-certreq", "-alias", "client", "-keystore", "client.p12", "-file",
                "client.csr"}, store));
        keytool(dir, concat(new String[] {"-gencert", "-alias", "ca", "-keystore", "ca.p12", "-infile",
                "client.csr", "-outfile", "client.pem", "-rfc", "-validity", "2"}, store));
        keytool(dir, concat(new String[] {"-exportcert", "-alias", "ca", "-keystore", "ca.p12", "-rfc", "-file",
                "ca.pem"}, store));
        try (InputStream in = Files.newInputStream(dir.resolve("client.p12"))) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, STORE_PASS.toCharArray());
            Key key = ks.getKey("client", STORE_PASS.toCharArray());
            String pem = "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(key.getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
            Files.write(dir.resolve("client.key"), pem.getBytes(StandardCharsets.US_ASCII));
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Runs `body` with the client's TLS keys set as `-Dtls.client.*` would set them, then restores them. */
    private void withClientCertificate(ThrowingRunnable body) throws Exception {
        boolean testMode = TlsSystemConfig.tlsTestModeEnable;
        String cert = TlsSystemConfig.tlsClientCertPath;
        String key = TlsSystemConfig.tlsClientKeyPath;
        try {
            TlsSystemConfig.tlsTestModeEnable = false;
            TlsSystemConfig.tlsClientCertPath = pki.resolve("client.pem").toString();
            TlsSystemConfig.tlsClientKeyPath = pki.resolve("client.key").toString();
            body.run();
        } finally {
            TlsSystemConfig.tlsTestModeEnable = testMode;
            TlsSystemConfig.tlsClientCertPath = cert;
            TlsSystemConfig.tlsClientKeyPath = key;
        }
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    @Timeout(120)
    void clientsWithACertificateProduceAndConsume() throws Exception {
        withClientCertificate(() -> {
            DefaultMQProducer producer = producer("tls_client_auth_producer", true);
            List<String> ids = send(producer, "TlsClientAuthTopic", 10);
            consumeAll("TlsClientAuthTopic", "tls_client_auth_consumer", true, ids);
        });
    }

    @Test
    @Timeout(60)
    void clientsWithoutACertificateAreRefused() throws Exception {
        // RocketMQ's default test mode: TLS, but no client certificate
        DefaultMQProducer bare = producer("tls_no_cert_producer", true);
        bare.setSendMsgTimeout(2_000);
        bare.setRetryTimesWhenSendFailed(0);
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> bare.send(
                new org.apache.rocketmq.common.message.Message("TlsNoCertTopic", "TagA",
                        "refused".getBytes(StandardCharsets.UTF_8))));
        org.ferrocket.interop.support.Await.until(java.time.Duration.ofSeconds(10),
                () -> ferrocket.tail(400).contains("TLS handshake failed")
                        && ferrocket.tail(400).contains("no certificates"),
                () -> "the server did not log the refused handshake:\n" + ferrocket.tail(50));
    }
}
