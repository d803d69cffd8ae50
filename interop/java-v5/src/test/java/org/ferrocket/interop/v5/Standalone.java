package org.ferrocket.interop.v5;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One `ferrocket standalone` on loopback with its gRPC port, a store of its own and the given topics
 * (written into the store's config/topics.json before the start, four queues each).
 */
final class Standalone implements AutoCloseable {
    private static final long READY_TIMEOUT_MS = 60_000;

    final int nameServerPort;
    final int brokerPort;
    final int grpcPort;
    private final Path dir;
    private final Path log;
    private final Process process;

    Standalone(String... topics) throws IOException, InterruptedException {
        nameServerPort = freePort();
        brokerPort = freePort();
        grpcPort = freePort();
        dir = Files.createTempDirectory("ferrocket-v5-");
        Path config = Files.createDirectories(dir.resolve("store").resolve("config"));
        StringBuilder table = new StringBuilder();
        for (String topic : topics) {
            table.append(table.length() == 0 ? "" : ",").append('"').append(topic).append("\":{\"topicName\":\"")
                    .append(topic).append("\",\"readQueueNums\":4,\"writeQueueNums\":4,\"perm\":6}");
        }
        Files.write(config.resolve("topics.json"),
                ("{\"topicConfigTable\":{" + table + "}}").getBytes(StandardCharsets.UTF_8));
        Path conf = dir.resolve("broker.conf");
        String text = "listenPort=" + brokerPort + "\nbrokerIP1=127.0.0.1\nconsoleEnable=false\n"
                + "grpcServerPort=" + grpcPort + "\n";
        Files.write(conf, text.getBytes(StandardCharsets.UTF_8));
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs"));
        Files.createDirectories(logDir);
        log = logDir.resolve("standalone-" + grpcPort + ".log").toAbsolutePath();
        List<String> command = Arrays.asList(binary().toString(), "standalone", "--store",
                dir.resolve("store").toString(), "--namesrv-listen", "127.0.0.1:" + nameServerPort,
                "-c", conf.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(new File("/dev/null"));
        builder.environment().putIfAbsent("RUST_LOG", "info");
        process = builder.start();
        awaitReady();
    }

    String nameServer() {
        return "127.0.0.1:" + nameServerPort;
    }

    String grpcEndpoint() {
        return "127.0.0.1:" + grpcPort;
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            String out = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
            if (out.contains("is ready") && out.contains("gRPC: ")) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("ferrocket exited before it was ready:\n" + out);
            }
            Thread.sleep(100);
        }
        process.destroyForcibly();
        throw new AssertionError("ferrocket was not ready within " + READY_TIMEOUT_MS + " ms; see " + log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** System property FERROCKET_BIN, else environment FERROCKET_BIN, else ../../target/debug/ferrocket. */
    private static Path binary() {
        String configured = System.getProperty("FERROCKET_BIN");
        if (configured == null || configured.trim().isEmpty()) {
            configured = System.getenv("FERROCKET_BIN");
        }
        Path base = Paths.get(System.getProperty("interop.basedir", System.getProperty("user.dir")));
        Path binary = (configured == null || configured.trim().isEmpty())
                ? base.resolve("../../target/debug/ferrocket") : base.resolve(configured);
        binary = binary.toAbsolutePath().normalize();
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("ferrocket binary not found at " + binary
                    + "; build it with cargo build -p ferrocket (or point FERROCKET_BIN at it)");
        }
        return binary;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
