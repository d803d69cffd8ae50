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
    private static final int START_ATTEMPTS = 3;

    int nameServerPort;
    int brokerPort;
    int grpcPort;
    private final Path dir;
    private Path log;
    private Process process;

    Standalone(String... topics) throws IOException, InterruptedException {
        this("", new String[0], topics);
    }

    /** As {@link #Standalone(String...)}, with {@code extraConf} (lines of broker.conf) appended. */
    Standalone(String extraConf, String[] topics) throws IOException, InterruptedException {
        this(extraConf, new String[0], topics);
    }

    /** A standalone whose broker.conf also has the lines of {@code extraConf}. */
    static Standalone withConf(String extraConf, String... topics) throws IOException, InterruptedException {
        return new Standalone(extraConf, new String[0], topics);
    }

    /**
     * A standalone whose broker.conf also has the lines of {@code extraConf} and whose subscription groups
     * {@code orderlyGroups} consume in order (FIFO for the v5 clients).
     */
    static Standalone withOrderlyGroups(String extraConf, String[] orderlyGroups, String... topics)
            throws IOException, InterruptedException {
        return new Standalone(extraConf, orderlyGroups, topics);
    }

    private Standalone(String extraConf, String[] orderlyGroups, String[] topics)
            throws IOException, InterruptedException {
        // TMPDIR, as for the Rust tests, lets the stores live on another file system than /tmp
        String tmp = System.getenv("TMPDIR");
        dir = tmp == null || tmp.trim().isEmpty() ? Files.createTempDirectory("ferrocket-v5-")
                : Files.createTempDirectory(Paths.get(tmp), "ferrocket-v5-");
        Path config = Files.createDirectories(dir.resolve("store").resolve("config"));
        StringBuilder table = new StringBuilder();
        for (String topic : topics) {
            table.append(table.length() == 0 ? "" : ",").append('"').append(topic).append("\":{\"topicName\":\"")
                    .append(topic).append("\",\"readQueueNums\":4,\"writeQueueNums\":4,\"perm\":6}");
        }
        Files.write(config.resolve("topics.json"),
                ("{\"topicConfigTable\":{" + table + "}}").getBytes(StandardCharsets.UTF_8));
        StringBuilder groups = new StringBuilder();
        for (String group : orderlyGroups) {
            groups.append(groups.length() == 0 ? "" : ",").append('"').append(group).append("\":{\"groupName\":\"")
                    .append(group).append("\",\"consumeMessageOrderly\":true}");
        }
        Files.write(config.resolve("subscriptionGroup.json"),
                ("{\"subscriptionGroupTable\":{" + groups + "}}").getBytes(StandardCharsets.UTF_8));
        // A port picked here may be taken by another process before ferrocket binds it: start again on
        // fresh ports when that is why it stopped.
        for (int attempt = 1; ; attempt++) {
            try {
                launch(extraConf);
                return;
            } catch (PortTakenException e) {
                if (attempt == START_ATTEMPTS) {
                    throw new AssertionError(e.getMessage());
                }
            }
        }
    }

    private void launch(String extraConf) throws IOException, InterruptedException {
        nameServerPort = freePort();
        brokerPort = freePort();
        grpcPort = freePort();
        Path conf = dir.resolve("broker.conf");
        // 64 MiB commit log files: each run's store stays small. The HA port is chosen too, as
        // listenPort + 1 (its default) is not known to be free.
        String text = "listenPort=" + brokerPort + "\nhaListenPort=" + freePort()
                + "\nbrokerIP1=127.0.0.1\nconsoleEnable=false\n"
                + "grpcServerPort=" + grpcPort + "\nmappedFileSizeCommitLog=67108864\n" + extraConf;
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

    /** ferrocket stopped at start because a port chosen for it was taken meanwhile. */
    private static final class PortTakenException extends IOException {
        PortTakenException(String message) {
            super(message);
        }
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
                String message = "ferrocket exited before it was ready:\n" + out;
                if (out.contains("Address already in use")) {
                    throw new PortTakenException(message);
                }
                throw new AssertionError(message);
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
        deleteTree(dir);
    }

    /** Removes the store; the log stays under target/ for a failing run. */
    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("cannot remove " + root + ": " + e);
        }
    }

    /** System property FERROCKET_BIN, else environment FERROCKET_BIN, else ../../target/debug/ferrocket. */
    static Path binary() {
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
