package org.ferrocket.failover.support;

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
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One ferrocket process (controller, name server or broker), or another program, whose output goes to a log
 * file. It can be killed with SIGKILL and started again with the same command line (same ports, same store).
 */
public final class Proc {
    /** How long a start may take until the ready line appears (a broker waits for a controller leader). */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final String name;
    private final List<String> command;
    private final Path logFile;
    private Process process;
    private int starts;

    /**
     * @param name a file-name-safe label for the log file
     * @param args the ferrocket sub-command and its arguments
     */
    public Proc(String name, List<String> args) throws IOException {
        this(withFerrocket(args), name);
    }

    /**
     * Any other program (the Apache broker's JVM) under the same rules: its output goes to the log, and it is
     * ready once it prints a line containing "is ready".
     *
     * @param command the full command line
     */
    public static Proc program(String name, List<String> command) throws IOException {
        return new Proc(new ArrayList<>(command), name);
    }

    private static List<String> withFerrocket(List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(FerrocketBinary.resolve().toString());
        command.addAll(args);
        return command;
    }

    /** The full command line first: (String, List) is the ferrocket constructor. */
    private Proc(List<String> command, String name) throws IOException {
        this.name = name;
        this.command = command;
        Path logDir = Paths.get(System.getProperty("interop.logdir", "target/ferrocket-logs")).toAbsolutePath();
        Files.createDirectories(logDir);
        this.logFile = logDir.resolve(name + ".log");
        Files.deleteIfExists(logFile);
    }

    /** Starts the process and waits for its `... is ready` line; returns that line. */
    public synchronized String start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        starts++;
        appendLog("===== " + LocalTime.now() + " start #" + starts + ": " + String.join(" ", command));
        long searchFrom = Files.size(logFile);
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putIfAbsent("RUST_BACKTRACE", "1");
        builder.environment().putIfAbsent("RUST_LOG", "info");
        process = builder.start();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            String line = findReadyLine(searchFrom);
            if (line != null) {
                return line;
            }
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with code " + process.exitValue()
                        + " before it was ready" + describe());
            }
            if (System.nanoTime() > deadline) {
                kill9();
                throw new AssertionError(name + " was not ready within " + READY_TIMEOUT.getSeconds() + " s"
                        + describe());
            }
            Thread.sleep(50);
        }
    }

    /** SIGKILL (a crash); returns once the process is gone. */
    public synchronized void kill9() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new AssertionError(name + " survived SIGKILL for 10 s");
            }
            appendLog("===== " + LocalTime.now() + " killed (SIGKILL)");
        }
    }

    /** SIGTERM, then SIGKILL after 10 s. */
    public synchronized void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill9();
            }
        }
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    public String name() {
        return name;
    }

    /** A failure-message suffix: the log's path and its last lines. */
    public String describe() {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return "\n--- " + name + " (last 40 lines of " + logFile + ") ---\n"
                    + String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
        } catch (IOException e) {
            return "\n(cannot read " + logFile + ": " + e + ")";
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
                if (line.contains("is ready") && !line.startsWith("=====")) {
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
}
