package org.ferrocket.interop.support;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One `ferrocket standalone` process (name server + broker) on loopback, with its own ports, store directory
 * and log file. The same instance can be stopped and started again on the same ports and store.
 */
public final class FerrocketProcess implements AutoCloseable {
    /** How long a start may take until the ready line appears. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    /** Substring of the line the process prints once both servers listen and the broker registered. */
    public static final String READY_MARKER = "is ready";

    private final String name;
    private final Path binary;
    private final Path storeDir;
    private final Path confFile;
    private final Path logFile;
    private final int nameServerPort;
    private final int brokerPort;
    private final BrokerConf conf;
    private final Map<String, String> environment;

    private Process process;
    private int starts;

    private FerrocketProcess(String name, Path binary, BrokerConf conf, Map<String, String> environment)
            throws IOException {
        this.name = name;
        this.binary = binary;
        this.conf = conf;
        this.environment = environment;
        this.nameServerPort = FreePorts.next();
        this.brokerPort = FreePorts.next();
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs")).toAbsolutePath();
        Files.createDirectories(logDir);
        this.logFile = logDir.resolve(name + ".log");
        Files.deleteIfExists(logFile);
        this.storeDir = Files.createTempDirectory("ferrocket-" + name + "-");
        this.confFile = storeDir.resolveSibling(storeDir.getFileName() + ".conf");
        conf.set("listenPort", String.valueOf(brokerPort));
        conf.set("namesrvAddr", "127.0.0.1:" + nameServerPort);
        conf.set("storePathRootDir", storeDir.toString());
        Files.write(confFile, conf.render().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Starts a new process and waits for its ready line.
     *
     * @param name a file-name-safe label used for the log file and the store directory
     * @throws IllegalStateException when the binary is missing
     * @throws AssertionError when the process does not become ready in time (the message holds its output)
     */
    public static FerrocketProcess start(String name, BrokerConf conf) throws IOException, InterruptedException {
        return start(name, conf, Collections.emptyMap());
    }

    /** {@link #start(String, BrokerConf)} with extra environment variables for the process (fault injection). */
    public static FerrocketProcess start(String name, BrokerConf conf, Map<String, String> environment)
            throws IOException, InterruptedException {
        Path binary = FerrocketBinary.resolve();
        for (int attempt = 1; ; attempt++) {
            FerrocketProcess ferrocket = new FerrocketProcess(name, binary, conf, environment);
            try {
                ferrocket.start();
                return ferrocket;
            } catch (AssertionError e) {
                ferrocket.close();
                // Another process may grab a port between picking it and binding it; try fresh ports.
                if (attempt >= 3 || !ferrocket.tail(200).contains("in use")) {
                    throw e;
                }
            } catch (RuntimeException | Error | IOException | InterruptedException e) {
                ferrocket.close();
                throw e;
            }
        }
    }

    /** Starts (or restarts) the process on the same ports and store and waits for the ready line. */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("ferrocket " + name + " is already running");
        }
        starts++;
        appendLog("===== " + LocalTime.now() + " start #" + starts + ": " + String.join(" ", command()));
        // The process writes straight into the log file, not into a pipe: Process.destroy() closes the
        // parent's pipe ends, and a graceful stop must not be disturbed by its log output failing.
        long searchFrom = Files.size(logFile);
        ProcessBuilder builder = new ProcessBuilder(command())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putIfAbsent("RUST_BACKTRACE", "1");
        builder.environment().putIfAbsent("RUST_LOG", "info");
        builder.environment().putAll(environment);
        process = builder.start();
        String readyLine = awaitReadyLine(searchFrom);
        if (!readyLine.contains(":" + nameServerPort) || !readyLine.contains(":" + brokerPort)) {
            destroyForcibly();
            throw new AssertionError("ferrocket " + name + " reported ready on other ports than configured"
                    + " (name server " + nameServerPort + ", broker " + brokerPort + "): " + readyLine + describe());
        }
    }

    /**
     * Stops the process with SIGTERM (graceful: flush, persist offsets, unregister) and waits for it to exit.
     *
     * @return the exit code
     * @throws AssertionError when it does not exit within the timeout (it is then killed)
     */
    public synchronized int stopGracefully(Duration timeout) throws InterruptedException {
        if (process == null) {
            throw new IllegalStateException("ferrocket " + name + " was never started");
        }
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            destroyForcibly();
            throw new AssertionError("ferrocket " + name + " did not exit within " + timeout.getSeconds()
                    + " s after SIGTERM" + describe());
        }
        appendLog("===== " + LocalTime.now() + " exited with " + process.exitValue() + " after SIGTERM");
        return process.exitValue();
    }

    /** Kills the process with SIGKILL (a crash) and waits for it to go away. */
    public synchronized void destroyForcibly() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            appendLog("===== " + LocalTime.now() + " killed");
        }
    }

    /** Whether the process is running. */
    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The operating-system process id (to set its limits or read /proc). */
    public synchronized long pid() {
        return process.pid();
    }

    /** The name server address for namesrvAddr, "127.0.0.1:PORT". */
    public String nameServerAddress() {
        return "127.0.0.1:" + nameServerPort;
    }

    /** The broker address, "127.0.0.1:PORT". */
    public String brokerAddress() {
        return "127.0.0.1:" + brokerPort;
    }

    /** The broker's listenPort. */
    public int brokerPort() {
        return brokerPort;
    }

    /** The broker properties this process was started with. */
    public BrokerConf conf() {
        return conf;
    }

    /** The store directory (storePathRootDir). */
    public Path storeDir() {
        return storeDir;
    }

    /** The file holding everything the process printed. */
    public Path logFile() {
        return logFile;
    }

    /** The last lines of the process output, for failure messages. */
    public String tail(int lines) {
        try {
            List<String> all = Files.exists(logFile) ? Files.readAllLines(logFile, StandardCharsets.UTF_8)
                    : new ArrayList<>();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    /** A failure-message suffix: where the log is and its tail. */
    public String describe() {
        return "\n--- ferrocket " + name + " output (last 60 lines of " + logFile + ") ---\n" + tail(60)
                + "\n--- end of ferrocket output ---";
    }

    /** Stops the process (SIGTERM, then SIGKILL after 10 s) and deletes its store. */
    @Override
    public synchronized void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                destroyForcibly();
            }
        }
        deleteRecursively(storeDir);
        try {
            Files.deleteIfExists(confFile);
        } catch (IOException ignored) {
            // Temp files only; a leftover does no harm.
        }
    }

    private List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.add("standalone");
        cmd.add("--store");
        cmd.add(storeDir.toString());
        cmd.add("--namesrv-listen");
        cmd.add("127.0.0.1:" + nameServerPort);
        cmd.add("-c");
        cmd.add(confFile.toString());
        return cmd;
    }

    private String awaitReadyLine(long searchFrom) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            String found = findReadyLine(searchFrom);
            if (found != null) {
                return found;
            }
            if (!process.isAlive()) {
                // The line may have been written just before the exit.
                found = findReadyLine(searchFrom);
                if (found != null) {
                    return found;
                }
                throw new AssertionError("ferrocket " + name + " exited with code " + process.exitValue()
                        + " before it was ready" + describe());
            }
            if (System.nanoTime() > deadline) {
                destroyForcibly();
                throw new AssertionError("ferrocket " + name + " did not print '" + READY_MARKER + "' within "
                        + READY_TIMEOUT.getSeconds() + " s" + describe());
            }
            Thread.sleep(50);
        }
    }

    private String findReadyLine(long searchFrom) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            if (file.length() <= searchFrom) {
                return null;
            }
            file.seek(searchFrom);
            byte[] bytes = new byte[(int) Math.min(file.length() - searchFrom, 16 * 1024 * 1024)];
            file.readFully(bytes);
            for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                if (line.contains(READY_MARKER) && !line.startsWith("=====")) {
                    return line;
                }
            }
            return null;
        }
    }

    private synchronized void appendLog(String line) {
        try {
            Files.write(logFile, (line + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // Temp files only; a leftover does no harm.
        }
    }
}
