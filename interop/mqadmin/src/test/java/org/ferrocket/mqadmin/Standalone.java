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
    private final Path dir;

    private Standalone(Process process, Path log, String namesrv, String brokerAddr, Path dir) {
        this.process = process;
        this.log = log;
        this.namesrv = namesrv;
        this.brokerAddr = brokerAddr;
        this.dir = dir;
    }

    /** Starts ferrocket and waits for its ready line; a missing binary fails the test. */
    static Standalone start(String name) throws IOException, InterruptedException {
        return start(name, "");
    }

    /** {@link #start(String)} with extra broker.conf lines. */
    static Standalone start(String name, String extraConf) throws IOException, InterruptedException {
        Path binary = binary();
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-" + name);
        int nsPort = freePort();
        int brokerPort = freePort();
        Path conf = dir.resolve("broker.conf");
        // brokerIP1 pinned to loopback (the default is an interface address); small commit log
        // files keep the store cheap to create and delete. The HA port is chosen too unless given:
        // its default, listenPort + 1, is not known to be free.
        String haPort = extraConf.contains("haListenPort=") ? "" : "\nhaListenPort=" + freePort();
        Files.writeString(conf, "brokerName=" + BROKER + "\nlistenPort=" + brokerPort + haPort
                + "\nbrokerIP1=127.0.0.1\nmappedFileSizeCommitLog=" + (64 * 1024 * 1024) + "\n" + extraConf);
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        String namesrv = "127.0.0.1:" + nsPort;
        Process p = new ProcessBuilder(List.of(binary.toString(), "standalone", "--store",
                dir.resolve("data").toString(), "--namesrv-listen", namesrv, "-c", conf.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Standalone s = new Standalone(p, log, namesrv, "127.0.0.1:" + brokerPort, dir);
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
            process.waitFor(30, TimeUnit.SECONDS);
        }
        deleteTree(dir);
    }

    static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary directory is not a test failure
        }
    }

    /** The directory holding broker.conf (and whatever a test puts beside it). */
    Path dir() {
        return dir;
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static Path binary() {
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
