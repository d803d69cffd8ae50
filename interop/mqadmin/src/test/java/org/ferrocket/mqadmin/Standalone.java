package org.ferrocket.mqadmin;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A `ferrocket standalone` process (name server and broker) on free loopback ports. */
final class Standalone implements AutoCloseable {
    static final String CLUSTER = "DefaultCluster";
    static final String BROKER = "broker-mqadmin";

    private final Process process;
    private final Path log;
    final String namesrv;
    final String brokerAddr;

    private Standalone(Process process, Path log, String namesrv, String brokerAddr) {
        this.process = process;
        this.log = log;
        this.namesrv = namesrv;
        this.brokerAddr = brokerAddr;
    }

    /** Starts ferrocket and waits for its ready line; a missing binary fails the test. */
    static Standalone start(String name) throws IOException, InterruptedException {
        Path binary = binary();
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-" + name);
        int nsPort = freePort();
        int brokerPort = freePort();
        Path conf = dir.resolve("broker.conf");
        Files.writeString(conf, "brokerName=" + BROKER + "\nlistenPort=" + brokerPort + "\n");
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        String namesrv = "127.0.0.1:" + nsPort;
        Process p = new ProcessBuilder(List.of(binary.toString(), "standalone", "--store",
                dir.resolve("data").toString(), "--namesrv-listen", namesrv, "-c", conf.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Standalone s = new Standalone(p, log, namesrv, "127.0.0.1:" + brokerPort);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains("is ready")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("ferrocket did not become ready:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return s;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static Path binary() {
        String configured = System.getProperty("FERROCKET_BIN");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("FERROCKET_BIN");
        }
        Path base = Paths.get(System.getProperty("interop.basedir", System.getProperty("user.dir")));
        Path binary = (configured == null || configured.isBlank())
                ? base.resolve("../../target/debug/ferrocket") : base.resolve(configured);
        binary = binary.toAbsolutePath().normalize();
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("ferrocket binary not found at " + binary
                    + "; build it with cargo build -p ferrocket (or point FERROCKET_BIN at it)");
        }
        return binary;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
