package org.ferrocket.mqadmin;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A `ferrocket broker` slave (brokerId 1, brokerRole SLAVE) of a {@link Standalone}'s broker: same
 * cluster and broker name, registered with the standalone's name server, which gives it the master's
 * HA address.
 */
final class SlaveBroker implements AutoCloseable {
    private final Process process;
    private final Path dir;
    final String brokerAddr;

    private SlaveBroker(Process process, Path dir, String brokerAddr) {
        this.process = process;
        this.dir = dir;
        this.brokerAddr = brokerAddr;
    }

    /** Starts the slave and waits for its ready line; `commitLogFileSize` must be the master's. */
    static SlaveBroker start(String name, Standalone master, int commitLogFileSize)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("ferrocket-mqadmin-" + name);
        int port = freePort();
        Path conf = dir.resolve("broker.conf");
        Files.writeString(conf, "brokerClusterName=" + Standalone.CLUSTER + "\nbrokerName=" + Standalone.BROKER
                + "\nbrokerId=1\nbrokerRole=SLAVE\nlistenPort=" + port + "\nhaListenPort=" + freePort()
                + "\nbrokerIP1=127.0.0.1\nnamesrvAddr=" + master.namesrv + "\nmappedFileSizeCommitLog="
                + commitLogFileSize + "\nconsoleEnable=false\n");
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        Process p = new ProcessBuilder(List.of(Standalone.binary().toString(), "broker", "-c", conf.toString(),
                "--store", dir.resolve("store").toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains("is ready")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("the slave did not become ready:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return new SlaveBroker(p, dir, "127.0.0.1:" + port);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
        Standalone.deleteTree(dir);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
