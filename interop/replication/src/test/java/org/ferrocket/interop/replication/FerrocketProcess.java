package org.ferrocket.interop.replication;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child process logging to a file: the ferrocket binary (FERROCKET_BIN, default ../../target/debug/ferrocket)
 * or any other command, such as an Apache broker in a JVM of its own.
 */
final class FerrocketProcess {
    private final Process process;
    private final Path log;

    private FerrocketProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static FerrocketProcess start(List<String> args, Path log, String readyMarker) throws Exception {
        String bin = System.getProperty("FERROCKET_BIN", "");
        if (bin.isEmpty()) {
            bin = System.getenv().getOrDefault("FERROCKET_BIN", "");
        }
        Path binary = bin.isEmpty()
                ? Paths.get(System.getProperty("interop.basedir", ".")).resolve("../../target/debug/ferrocket")
                : Paths.get(bin);
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("ferrocket binary not found at " + binary
                    + " (build it with `cargo build -p ferrocket` or set FERROCKET_BIN)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toAbsolutePath().normalize().toString());
        cmd.addAll(args);
        return launch(cmd, log, readyMarker);
    }

    /** Starts `cmd` and waits until its output contains `readyMarker`. */
    static FerrocketProcess launch(List<String> cmd, Path log, String readyMarker) throws Exception {
        Files.createDirectories(log.getParent());
        Files.deleteIfExists(log);
        ProcessBuilder b = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        b.environment().put("RUST_LOG", "info");
        FerrocketProcess p = new FerrocketProcess(b.start(), log);
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(readyMarker)) {
                return p;
            }
            if (!p.process.isAlive()) {
                throw new AssertionError(cmd.get(0) + " exited with " + p.process.exitValue() + p.describe());
            }
            Thread.sleep(100);
        }
        p.process.destroyForcibly();
        throw new AssertionError(cmd.get(0) + " not ready within 60 s" + p.describe());
    }

    /** SIGTERM, then the exit code (a clean shutdown unregisters from the name server). */
    int stop() throws InterruptedException {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("ferrocket did not exit within 60 s after SIGTERM" + describe());
        }
        return process.exitValue();
    }

    /** SIGKILL: a crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    String describe() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "\n--- " + log + " (last 60 lines) ---\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "\n(cannot read " + log + ": " + e + ")";
        }
    }
}
