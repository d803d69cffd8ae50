package org.ferrocket.interop.support;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.LocalTime;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One `ferrocket namesrv` or `ferrocket broker` process of a multi-process cluster (name servers, masters and
 * slaves on their own ports and stores), restartable on the same ports and store, with its own log file.
 */
public final class FerrocketNode implements AutoCloseable {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final String name;
    private final List<String> command;
    private final Path logFile;
    private final Path workDir;
    private Process process;

    private FerrocketNode(String name, List<String> command, Path workDir) throws IOException {
        this.name = name;
        this.command = command;
        this.workDir = workDir;
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs")).toAbsolutePath();
        Files.createDirectories(logDir);
        this.logFile = logDir.resolve(name + ".log");
        Files.deleteIfExists(logFile);
        Files.createFile(logFile);
    }

    /** A name server listening on 127.0.0.1:port. */
    public static FerrocketNode nameServer(String name, int port) throws IOException {
        Path dir = Files.createTempDirectory("ferrocket-" + name + "-");
        List<String> cmd = List.of(FerrocketBinary.resolve().toString(), "namesrv", "--listen", "127.0.0.1:" + port);
        return new FerrocketNode(name, cmd, dir);
    }

    /** A broker started with `conf` (storePathRootDir is set to a store of its own). */
    public static FerrocketNode broker(String name, BrokerConf conf) throws IOException {
        Path dir = Files.createTempDirectory("ferrocket-" + name + "-");
        conf.set("storePathRootDir", dir.resolve("store").toString());
        Path confFile = dir.resolve("broker.conf");
        Files.write(confFile, conf.render().getBytes(StandardCharsets.UTF_8));
        List<String> cmd = List.of(FerrocketBinary.resolve().toString(), "broker", "-c", confFile.toString());
        return new FerrocketNode(name, cmd, dir);
    }

    /** Starts (or restarts) the process and waits for its ready line. */
    public synchronized FerrocketNode start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        long from = Files.size(logFile);
        Files.write(logFile, ("===== " + LocalTime.now() + " start: " + String.join(" ", command) + "\n")
                .getBytes(StandardCharsets.UTF_8), java.nio.file.StandardOpenOption.APPEND);
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putIfAbsent("RUST_LOG", "info");
        builder.environment().remove("NAMESRV_ADDR");
        process = builder.start();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!output(from).contains("is ready")) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + " before it was ready"
                        + describe());
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError(name + " was not ready within " + READY_TIMEOUT + describe());
            }
            Thread.sleep(50);
        }
        return this;
    }

    /** SIGKILL: a crash. */
    public synchronized void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The output so far. */
    public String output() {
        return output(0);
    }

    private String output(long from) {
        try {
            byte[] all = Files.readAllBytes(logFile);
            int start = (int) Math.min(from, all.length);
            return new String(all, start, all.length - start, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    /** A failure-message suffix with the end of the output. */
    public String describe() {
        String out = output();
        return "\n--- " + name + " (" + logFile + ") ---\n" + out.substring(Math.max(0, out.length() - 4000));
    }

    /** Stops the process (SIGTERM, then SIGKILL) and deletes its directory. */
    @Override
    public synchronized void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                kill();
            }
        }
        try (Stream<Path> paths = Files.walk(workDir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // temporary files only
        }
    }
}
