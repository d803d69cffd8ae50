package org.ferrocket.failover;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.rocketmq.tools.command.MQAdminStartup;

/**
 * Runs the official mqadmin (rocketmq-tools, MQAdminStartup.main0) in this JVM and captures what it prints. The
 * other threads of the test must not print while a command runs: System.out is swapped for its duration.
 */
final class MqAdmin {
    /** What one command printed. */
    static final class Result {
        final String out;
        final String err;

        Result(String out, String err) {
            this.out = out;
            this.err = err;
        }

        /** mqadmin reports a failed command by printing the exception's stack trace. */
        boolean failed() {
            return err.contains("command failed") || err.contains("Exception");
        }

        @Override
        public String toString() {
            return "stdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private final String namesrv;

    MqAdmin(String namesrv) {
        this.namesrv = namesrv;
    }

    /** Runs `mqadmin <command> <args> -n <namesrv>`. */
    synchronized Result run(String command, String... args) {
        List<String> all = new ArrayList<>();
        all.add(command);
        all.addAll(Arrays.asList(args));
        all.add("-n");
        all.add(namesrv);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            MQAdminStartup.main0(all.toArray(new String[0]), null);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        Result r = new Result(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.println("mqadmin " + String.join(" ", all) + "\n" + r);
        return r;
    }

    /** Runs a command that must succeed and returns its standard output. */
    String ok(String command, String... args) {
        Result r = run(command, args);
        if (r.failed()) {
            throw new AssertionError("mqadmin " + command + " " + String.join(" ", args) + " failed\n" + r);
        }
        return r.out;
    }
}
